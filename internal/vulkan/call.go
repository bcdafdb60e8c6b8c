//go:build (linux || darwin || freebsd || netbsd || windows) && (amd64 || arm64)

package vulkan

import "github.com/ebitengine/purego"

// call calls the C function fn. Write pointer arguments as
// uintptr(unsafe.Pointer(&x)) directly in the argument list: like
// purego.SyscallN, call is go:uintptrescapes, so what they point to is moved
// to the heap (where it cannot move) and kept alive until the call returns.
// Pointers inside a struct passed this way are unsafe.Pointer fields, which
// the garbage collector sees, so they stay alive and on the heap with it.
//
// Only 64-bit targets are supported: there every Vulkan handle, dispatchable
// or not, fits one uintptr argument.
//
//go:uintptrescapes
func call(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}
