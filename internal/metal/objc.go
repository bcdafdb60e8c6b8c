package metal

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// The Objective-C runtime as this package sees it: a handful of C entry
// points and objc_msgSend under one typed Go signature per argument shape.
// They are plain function variables so that the code sending messages —
// every Metal call this package makes — is the same on every OS: on darwin
// bindSystem (objc_darwin.go) binds them to libobjc and Metal through
// purego; the tests bind them to a fake runtime (fakeobjc_test.go) that
// keeps reference counts and records every message, so the sequences of
// calls, the ownership rule and the error paths are tested on Linux.
//
// Only bindSystem knows where the symbols come from; nothing else in the
// package depends on the OS.

// mtlSize is MTLSize, passed by value (three NSUIntegers).
type mtlSize struct{ width, height, depth uint64 }

func toMTLSize(s Size) mtlSize { return mtlSize{uint64(s.Width), uint64(s.Height), uint64(s.Depth)} }

// nsRange is NSRange, passed by value (location, length).
type nsRange struct{ location, length uint64 }

var (
	loadOnce sync.Once
	loadErr  error
	// bindRuntime fills in the variables below; bindSystem on darwin,
	// ErrUnavailable elsewhere; the tests substitute a fake.
	bindRuntime = bindSystem

	createSystemDefaultDevice func() uintptr
	autoreleasePoolPush       func() uintptr
	autoreleasePoolPop        func(pool uintptr)
	selRegisterName           func(name string) uintptr
	objcGetClass              func(name string) uintptr

	// objc_msgSend, by signature: receiver, selector, then the arguments.
	send      func(id, sel uintptr) uintptr
	sendBool  func(id, sel uintptr) bool
	sendPtr   func(id, sel uintptr) unsafe.Pointer
	sendU64   func(id, sel uintptr) uint64
	sendF64   func(id, sel uintptr) float64
	send1     func(id, sel, a uintptr) uintptr
	sendBool1 func(id, sel, a uintptr) bool
	sendCStr  func(id, sel uintptr, s *byte) uintptr
	send2     func(id, sel, a, b uintptr) uintptr
	send3     func(id, sel, a, b, c uintptr) uintptr
	send4     func(id, sel, a, b, c, d uintptr) uintptr
	send5     func(id, sel, a, b, c, d, e uintptr) uintptr
	sendErr1  func(id, sel, a uintptr, err *uintptr) uintptr
	sendErr2  func(id, sel, a, b uintptr, err *uintptr) uintptr
	sendBytes func(id, sel uintptr, p unsafe.Pointer, n, index uintptr)
	sendGrid  func(id, sel uintptr, groups, threads mtlSize)
	sendRange func(id, sel, buf uintptr, r nsRange, value uintptr)

	classNSString, classCompileOptions, classFunctionConstantValues uintptr
)

// Selectors, registered by load. One struct keeps the whole vocabulary of
// messages this package sends in one place.
var sel struct {
	alloc, init, retain, release, respondsToSelector                uintptr
	stringWithUTF8String, utf8String, localizedDescription, code    uintptr
	count, objectAtIndex                                            uintptr
	name, recommendedMaxWorkingSetSize, maxBufferLength             uintptr
	maxThreadgroupMemoryLength, hasUnifiedMemory                    uintptr
	newBufferWithLength, newBufferWithBytesNoCopy, contents, length uintptr
	setLanguageVersion, setMathMode, setFastMathEnabled             uintptr
	newLibraryWithSource, newFunctionWithName, functionNames        uintptr
	newFunctionWithConstants, setConstantValue                      uintptr
	newComputePipelineState, maxTotalThreads, threadExecutionWidth  uintptr
	staticThreadgroupMemoryLength                                   uintptr
	newCommandQueue, commandBuffer                                  uintptr
	computeCommandEncoderWithDispatchType, blitCommandEncoder       uintptr
	setComputePipelineState, setBuffer, setBytes, dispatchThreadgps uintptr
	memoryBarrierWithScope, copyBuffer, fillBuffer                  uintptr
	endEncoding, commit, waitUntilCompleted, status, errorSel       uintptr
	gpuStartTime, gpuEndTime                                        uintptr
}

// selectorNames pairs every field of sel with its Objective-C name.
func selectorNames() []struct {
	dst  *uintptr
	name string
} {
	return []struct {
		dst  *uintptr
		name string
	}{
		{&sel.alloc, "alloc"}, {&sel.init, "init"}, {&sel.retain, "retain"}, {&sel.release, "release"},
		{&sel.respondsToSelector, "respondsToSelector:"},
		{&sel.stringWithUTF8String, "stringWithUTF8String:"}, {&sel.utf8String, "UTF8String"},
		{&sel.localizedDescription, "localizedDescription"}, {&sel.code, "code"},
		{&sel.count, "count"}, {&sel.objectAtIndex, "objectAtIndex:"},
		{&sel.name, "name"}, {&sel.recommendedMaxWorkingSetSize, "recommendedMaxWorkingSetSize"},
		{&sel.maxBufferLength, "maxBufferLength"},
		{&sel.maxThreadgroupMemoryLength, "maxThreadgroupMemoryLength"}, {&sel.hasUnifiedMemory, "hasUnifiedMemory"},
		{&sel.newBufferWithLength, "newBufferWithLength:options:"},
		{&sel.newBufferWithBytesNoCopy, "newBufferWithBytesNoCopy:length:options:deallocator:"},
		{&sel.contents, "contents"}, {&sel.length, "length"},
		{&sel.setLanguageVersion, "setLanguageVersion:"}, {&sel.setMathMode, "setMathMode:"},
		{&sel.setFastMathEnabled, "setFastMathEnabled:"},
		{&sel.newLibraryWithSource, "newLibraryWithSource:options:error:"},
		{&sel.newFunctionWithName, "newFunctionWithName:"}, {&sel.functionNames, "functionNames"},
		{&sel.newFunctionWithConstants, "newFunctionWithName:constantValues:error:"},
		{&sel.setConstantValue, "setConstantValue:type:atIndex:"},
		{&sel.newComputePipelineState, "newComputePipelineStateWithFunction:error:"},
		{&sel.maxTotalThreads, "maxTotalThreadsPerThreadgroup"},
		{&sel.threadExecutionWidth, "threadExecutionWidth"},
		{&sel.staticThreadgroupMemoryLength, "staticThreadgroupMemoryLength"},
		{&sel.newCommandQueue, "newCommandQueue"}, {&sel.commandBuffer, "commandBuffer"},
		{&sel.computeCommandEncoderWithDispatchType, "computeCommandEncoderWithDispatchType:"},
		{&sel.blitCommandEncoder, "blitCommandEncoder"},
		{&sel.setComputePipelineState, "setComputePipelineState:"},
		{&sel.setBuffer, "setBuffer:offset:atIndex:"}, {&sel.setBytes, "setBytes:length:atIndex:"},
		{&sel.dispatchThreadgps, "dispatchThreadgroups:threadsPerThreadgroup:"},
		{&sel.memoryBarrierWithScope, "memoryBarrierWithScope:"},
		{&sel.copyBuffer, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:"},
		{&sel.fillBuffer, "fillBuffer:range:value:"},
		{&sel.endEncoding, "endEncoding"}, {&sel.commit, "commit"},
		{&sel.waitUntilCompleted, "waitUntilCompleted"}, {&sel.status, "status"}, {&sel.errorSel, "error"},
		{&sel.gpuStartTime, "GPUStartTime"}, {&sel.gpuEndTime, "GPUEndTime"},
	}
}

// load binds the runtime once per process. Every failure is an
// ErrUnavailable error naming the library, symbol, class or selector that
// is missing, never a panic; the error is kept and returned by every later
// call.
func load() error {
	loadOnce.Do(func() {
		if loadErr = bindRuntime(); loadErr != nil {
			return
		}
		loadErr = registerNames()
	})
	return loadErr
}

// registerNames looks up the classes and selectors once the C entry points
// are bound.
func registerNames() error {
	for _, c := range []struct {
		name string
		dst  *uintptr
	}{
		{"NSString", &classNSString},
		{"MTLCompileOptions", &classCompileOptions},
		{"MTLFunctionConstantValues", &classFunctionConstantValues},
	} {
		if *c.dst = objcGetClass(c.name); *c.dst == 0 {
			return fmt.Errorf("%w: the Objective-C runtime has no class %s", ErrUnavailable, c.name)
		}
	}
	for _, s := range selectorNames() {
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
	return sendCStr(classNSString, sel.stringWithUTF8String, &b[0])
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
