//go:build darwin

package metal

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The Objective-C runtime and Metal, bound once per process through purego.
// objc_msgSend is one C entry point that takes any arguments; each Go
// signature below is that same address registered with the argument and
// result types of the messages sent through it, so every send is typed and
// costs no reflection beyond purego's own.

const (
	libobjcPath      = "/usr/lib/libobjc.A.dylib"
	foundationPath   = "/System/Library/Frameworks/Foundation.framework/Foundation"
	coreGraphicsPath = "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"
	metalPath        = "/System/Library/Frameworks/Metal.framework/Metal"
)

// mtlSize is MTLSize, passed by value (three NSUIntegers).
type mtlSize struct{ width, height, depth uint64 }

func toMTLSize(s Size) mtlSize { return mtlSize{uint64(s.Width), uint64(s.Height), uint64(s.Depth)} }

var (
	loadOnce sync.Once
	loadErr  error

	createSystemDefaultDevice func() uintptr
	autoreleasePoolPush       func() uintptr
	autoreleasePoolPop        func(pool uintptr)
	selRegisterName           func(name string) uintptr
	objcGetClass              func(name string) uintptr

	// objc_msgSend, by signature.
	send       func(id, sel uintptr) uintptr
	sendPtr    func(id, sel uintptr) unsafe.Pointer
	sendU64    func(id, sel uintptr) uint64
	send1      func(id, sel, a uintptr) uintptr
	sendBool1  func(id, sel, a uintptr) bool
	sendCStr   func(id, sel uintptr, s *byte) uintptr
	send2      func(id, sel, a, b uintptr) uintptr
	send3      func(id, sel, a, b, c uintptr) uintptr
	sendErr1   func(id, sel, a uintptr, err *uintptr) uintptr
	sendErr2   func(id, sel, a, b uintptr, err *uintptr) uintptr
	sendBytes  func(id, sel uintptr, p unsafe.Pointer, n, index uintptr)
	sendGrid   func(id, sel uintptr, groups, threads mtlSize)
	classNSStr uintptr
	classOpts  uintptr
)

// Selectors, registered by load. One struct keeps the whole vocabulary of
// messages this package sends in one place.
var sel struct {
	alloc, init, retain, release, respondsToSelector                uintptr
	stringWithUTF8String, utf8String, localizedDescription          uintptr
	count, objectAtIndex                                            uintptr
	name, recommendedMaxWorkingSetSize, maxBufferLength             uintptr
	newBufferWithLength, contents                                   uintptr
	setLanguageVersion, setMathMode, setFastMathEnabled             uintptr
	newLibraryWithSource, newFunctionWithName, functionNames        uintptr
	newComputePipelineState, maxTotalThreads, threadExecutionWidth  uintptr
	newCommandQueue, commandBuffer, computeCommandEncoder           uintptr
	setComputePipelineState, setBuffer, setBytes, dispatchThreadgps uintptr
	endEncoding, commit, waitUntilCompleted, status, errorSel       uintptr
}

// load binds the runtime once. Every failure is an ErrUnavailable error
// naming the library, symbol or class that is missing: purego's Register*
// helpers panic on a missing symbol, so each symbol is looked up first.
func load() error {
	loadOnce.Do(func() { loadErr = bind() })
	return loadErr
}

func bind() error {
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
	sym := func(lib, name string) (uintptr, error) {
		addr, err := purego.Dlsym(libs[lib], name)
		if err != nil || addr == 0 {
			return 0, fmt.Errorf("%w: %s has no symbol %s", ErrUnavailable, lib, name)
		}
		return addr, nil
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
		{libobjcPath, "objc_msgSend", []any{&send, &sendPtr, &sendU64, &send1, &sendBool1, &sendCStr,
			&send2, &send3, &sendErr1, &sendErr2, &sendBytes, &sendGrid}},
	}
	for _, f := range funcs {
		addr, err := sym(f.lib, f.name)
		if err != nil {
			return err
		}
		for _, p := range f.fptrs {
			purego.RegisterFunc(p, addr)
		}
	}
	for _, c := range []struct {
		name string
		dst  *uintptr
	}{{"NSString", &classNSStr}, {"MTLCompileOptions", &classOpts}} {
		if *c.dst = objcGetClass(c.name); *c.dst == 0 {
			return fmt.Errorf("%w: the Objective-C runtime has no class %s", ErrUnavailable, c.name)
		}
	}
	for _, s := range []struct {
		dst  *uintptr
		name string
	}{
		{&sel.alloc, "alloc"}, {&sel.init, "init"}, {&sel.retain, "retain"}, {&sel.release, "release"},
		{&sel.respondsToSelector, "respondsToSelector:"},
		{&sel.stringWithUTF8String, "stringWithUTF8String:"}, {&sel.utf8String, "UTF8String"},
		{&sel.localizedDescription, "localizedDescription"},
		{&sel.count, "count"}, {&sel.objectAtIndex, "objectAtIndex:"},
		{&sel.name, "name"}, {&sel.recommendedMaxWorkingSetSize, "recommendedMaxWorkingSetSize"},
		{&sel.maxBufferLength, "maxBufferLength"},
		{&sel.newBufferWithLength, "newBufferWithLength:options:"}, {&sel.contents, "contents"},
		{&sel.setLanguageVersion, "setLanguageVersion:"}, {&sel.setMathMode, "setMathMode:"},
		{&sel.setFastMathEnabled, "setFastMathEnabled:"},
		{&sel.newLibraryWithSource, "newLibraryWithSource:options:error:"},
		{&sel.newFunctionWithName, "newFunctionWithName:"}, {&sel.functionNames, "functionNames"},
		{&sel.newComputePipelineState, "newComputePipelineStateWithFunction:error:"},
		{&sel.maxTotalThreads, "maxTotalThreadsPerThreadgroup"},
		{&sel.threadExecutionWidth, "threadExecutionWidth"},
		{&sel.newCommandQueue, "newCommandQueue"}, {&sel.commandBuffer, "commandBuffer"},
		{&sel.computeCommandEncoder, "computeCommandEncoder"},
		{&sel.setComputePipelineState, "setComputePipelineState:"},
		{&sel.setBuffer, "setBuffer:offset:atIndex:"}, {&sel.setBytes, "setBytes:length:atIndex:"},
		{&sel.dispatchThreadgps, "dispatchThreadgroups:threadsPerThreadgroup:"},
		{&sel.endEncoding, "endEncoding"}, {&sel.commit, "commit"},
		{&sel.waitUntilCompleted, "waitUntilCompleted"}, {&sel.status, "status"}, {&sel.errorSel, "error"},
	} {
		if *s.dst = selRegisterName(s.name); *s.dst == 0 {
			return fmt.Errorf("%w: sel_registerName(%q) failed", ErrUnavailable, s.name)
		}
	}
	return nil
}

// withPool runs f inside an autorelease pool on one OS thread: objects
// Metal returns autoreleased (command buffers, encoders, strings, errors)
// are freed when f returns, and a pool must be popped on the thread that
// pushed it, so the goroutine may not migrate in between.
func withPool(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := autoreleasePoolPush()
	defer autoreleasePoolPop(pool)
	return f()
}

// retain and release are the only places an object's reference count
// changes on Go's behalf (see the ownership rule in doc.go).
func retain(id uintptr) uintptr {
	if id != 0 {
		send(id, sel.retain)
	}
	return id
}

func release(id uintptr) {
	if id != 0 {
		send(id, sel.release)
	}
}

// nsString makes an autoreleased NSString (valid until the enclosing pool
// drains). s must not contain NUL; invalid UTF-8 yields 0.
func nsString(s string) uintptr {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return sendCStr(classNSStr, sel.stringWithUTF8String, &b[0])
}

// goString copies an NSString's text: UTF8String's bytes belong to the
// string object, which may be autoreleased.
func goString(ns uintptr) string {
	if ns == 0 {
		return ""
	}
	p := sendPtr(ns, sel.utf8String)
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

// nsErrorText is an NSError's localizedDescription ("" for no error).
func nsErrorText(err uintptr) string {
	if err == 0 {
		return ""
	}
	return goString(send(err, sel.localizedDescription))
}

// stringList copies an NSArray of NSStrings.
func stringList(arr uintptr) []string {
	if arr == 0 {
		return nil
	}
	n := int(send(arr, sel.count))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, goString(send1(arr, sel.objectAtIndex, uintptr(i))))
	}
	return out
}
