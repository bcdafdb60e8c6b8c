package coreai

// This file mirrors bridge/vlmrt_coreai.h; keep the two in step.

// ABIVersion is VLMRT_COREAI_ABI_VERSION: a bridge reporting another
// version is refused at load time.
const ABIVersion = 1

// Status codes a bridge function returns.
const (
	statusOK          = 0
	statusError       = 1 // Core AI (or the bundle) failed
	statusInvalid     = 2 // bad argument or handle
	statusUnavailable = 3 // Core AI is not available on this OS
)

// errBufLen is the size of the error buffer Go passes to every call; a
// longer message is truncated by the bridge.
const errBufLen = 1024

// infoC mirrors vlmrt_coreai_info_t: eight int32 fields, no padding, so
// the Go and C layouts agree on every platform purego supports.
type infoC struct {
	VocabSize, HiddenSize, ImageTokens, DeepstackCount int32
	MaxContext, PatchCount, PatchDim, Reserved         int32
}

// bridge is one loaded bridge library, its functions bound by purego. A
// handle is the bridge's opaque vlmrt_coreai_model*, kept as a uintptr and
// never dereferenced in Go.
type bridge struct {
	path string
	lib  uintptr // the dlopen handle

	version     func() int32
	open        func(decoder, vision string, out *uintptr, err *byte, errlen uintptr) int32
	info        func(h uintptr, info *infoC, err *byte, errlen uintptr) int32
	encodeImage func(h uintptr, patches *uint16, n uintptr, err *byte, errlen uintptr) int32
	setStatic   func(h uintptr, embeds, deepstack *uint16, start, amount int32, err *byte, errlen uintptr) int32
	getStatic   func(h uintptr, embeds, deepstack *uint16, start, amount *int32, err *byte, errlen uintptr) int32
	step        func(h uintptr, id, position int32, logits *float32, vocab uintptr, err *byte, errlen uintptr) int32
	reset       func(h uintptr, err *byte, errlen uintptr) int32
	close       func(h uintptr, err *byte, errlen uintptr) int32
}

// symbol names one ABI function and the field it binds to.
type symbol struct {
	name string
	fptr any // pointer to a func field of bridge
}

// symbols lists every function of the ABI, in header order.
func (b *bridge) symbols() []symbol {
	return []symbol{
		{"vlmrt_coreai_version", &b.version},
		{"vlmrt_coreai_open", &b.open},
		{"vlmrt_coreai_info", &b.info},
		{"vlmrt_coreai_encode_image", &b.encodeImage},
		{"vlmrt_coreai_set_static", &b.setStatic},
		{"vlmrt_coreai_get_static", &b.getStatic},
		{"vlmrt_coreai_step", &b.step},
		{"vlmrt_coreai_reset", &b.reset},
		{"vlmrt_coreai_close", &b.close},
	}
}

// call runs one bridge function with a fresh error buffer and turns a
// failure status into a *BridgeError naming the function.
func call(name string, f func(err *byte, errlen uintptr) int32) error {
	buf := make([]byte, errBufLen)
	st := f(&buf[0], uintptr(len(buf)))
	if st == statusOK {
		return nil
	}
	return &BridgeError{Call: name, Status: st, Message: cString(buf)}
}

// cString is the text before the first NUL (all of buf if there is none: a
// bridge that forgot the terminator still cannot make Go read past buf).
func cString(buf []byte) string {
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}
