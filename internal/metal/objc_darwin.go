//go:build darwin

package metal

import (
	"fmt"

	"github.com/ebitengine/purego"
)

const (
	libobjcPath      = "/usr/lib/libobjc.A.dylib"
	foundationPath   = "/System/Library/Frameworks/Foundation.framework/Foundation"
	coreGraphicsPath = "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"
	metalPath        = "/System/Library/Frameworks/Metal.framework/Metal"
)

// bindSystem binds the runtime's function variables (objc.go) to libobjc
// and Metal through purego. objc_msgSend is one C entry point that takes
// any arguments; each Go signature is that same address registered with
// the argument and result types of the messages sent through it (on arm64
// objc_msgSend has no _stret or _fpret variants, so a float64 result and
// struct arguments go through the one symbol). purego's Register* helpers
// panic on a missing symbol, so each symbol is looked up first.
func bindSystem() error {
	libs := map[string]uintptr{}
	// CoreGraphics: Apple documents that MTLCreateSystemDefaultDevice
	// returns no device in a command-line process that has not loaded it.
	for _, path := range []string{libobjcPath, foundationPath, coreGraphicsPath, metalPath} {
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			return fmt.Errorf("%w: load %s: %v", ErrUnavailable, path, err)
		}
		libs[path] = h
	}
	funcs := []struct {
		lib, name string
		fptrs     []any
	}{
		{metalPath, "MTLCreateSystemDefaultDevice", []any{&createSystemDefaultDevice}},
		{libobjcPath, "objc_autoreleasePoolPush", []any{&autoreleasePoolPush}},
		{libobjcPath, "objc_autoreleasePoolPop", []any{&autoreleasePoolPop}},
		{libobjcPath, "sel_registerName", []any{&selRegisterName}},
		{libobjcPath, "objc_getClass", []any{&objcGetClass}},
		{libobjcPath, "objc_msgSend", []any{&send, &sendBool, &sendPtr, &sendU64, &sendF64, &send1, &sendBool1, &sendCStr,
			&send2, &send3, &send4, &send5, &sendErr1, &sendErr2, &sendBytes, &sendGrid, &sendRange}},
	}
	for _, f := range funcs {
		addr, err := purego.Dlsym(libs[f.lib], f.name)
		if err != nil || addr == 0 {
			return fmt.Errorf("%w: %s has no symbol %s", ErrUnavailable, f.lib, f.name)
		}
		for _, p := range f.fptrs {
			purego.RegisterFunc(p, addr)
		}
	}
	return nil
}
