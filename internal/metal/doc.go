// Package metal is vlmrt's cgo-free binding to Apple's Metal (docs/design.md §5):
// the Objective-C runtime and Metal.framework are reached through
// github.com/ebitengine/purego, so a darwin binary is built with
// CGO_ENABLED=0 and still drives the GPU.
//
// It offers what a compute backend needs and nothing more: the default
// Device, shared-storage Buffers (the static inputs of docs/design.md §2.3 and
// the weights live in these), a Library compiled at run time from Metal
// Shading Language source with an explicit language version, a compute
// Pipeline per kernel function, a CommandQueue, and Dispatch, which encodes,
// commits and waits for one compute dispatch. kernels.go holds the MSL
// source of the kernels and their pure-Go mirrors.
//
// The package builds on every OS so that callers compile everywhere; off
// darwin every entry point returns ErrUnavailable. On darwin the frameworks
// are loaded once per process, on first use, and a failure (no
// Metal.framework, a missing symbol or class) is an ErrUnavailable error
// naming what is missing, never a panic.
//
// # Ownership
//
// Objective-C objects are reference counted; Go owns exactly the objects it
// stores:
//
//   - Every object held by a Go value (Device, Buffer, Library, Pipeline,
//     CommandQueue) is owned by it with one reference. Objects from the
//     new…/alloc…/Create… family arrive with that reference (+1) and are not
//     retained again; any other object a Go value keeps is retained on
//     arrival. Each type's Release drops that reference exactly once;
//     calling Release again, or on a nil value, does nothing. Using a value
//     after Release returns an error rather than touching a freed object.
//   - Objects used only inside one call (NSStrings, MTLCompileOptions,
//     command encoders, NSErrors) are autoreleased or released before the
//     call returns: every entry point runs inside its own autorelease pool
//     on one locked OS thread, because a pool must be popped on the thread
//     that pushed it.
//   - A Pipeline holds references to its function and to the Library it
//     came from, so the Library may be released first. Release the Device
//     last: the other objects do not keep it alive. Dispatch retains its
//     command buffer until the GPU has finished with it, and the command
//     buffer (made with retained references, Metal's default) keeps the
//     buffers bound to it alive, so a dispatch abandoned by a cancelled
//     context never touches freed memory.
//
// Go memory is never handed to Metal to keep: a Go slice given to
// NewBufferFrom is copied into a new shared-storage buffer, and Bytes
// arguments of Dispatch are copied by Metal at encode time. A Buffer's
// Contents is the buffer's own memory, shared between CPU and GPU; it is
// valid until the Buffer is released, and must not be written while a
// dispatch that reads it is in flight.
package metal

import "errors"

// ErrUnavailable reports that Metal cannot be used: not darwin, the
// framework or one of its symbols or classes is missing, or the machine has
// no Metal device. Test with errors.Is; the wrapping error says which.
var ErrUnavailable = errors.New("metal: unavailable")
