// Package metal is vlmrt's cgo-free binding to Apple's Metal (docs/design.md §5):
// the Objective-C runtime and Metal.framework are reached through
// github.com/ebitengine/purego, so a darwin binary is built with
// CGO_ENABLED=0 and still drives the GPU.
//
// It offers what a compute backend needs and nothing more: the default
// Device; shared-storage Buffers, allocated by Metal or wrapping memory the
// caller has mapped (NewBufferNoCopy: the weights are used where they are
// mapped, never copied); a Library compiled at run time from Metal Shading
// Language source with an explicit language version; a compute Pipeline
// per kernel function, specialized with function constants (spirv-cross's
// form of SPIR-V specialization constants) and built for a threadgroup
// size; a CommandQueue; and Commands, a recording of dispatches, memory
// barriers, copies and fills that Submit encodes into one command buffer,
// commits and waits for once. OpenDevice (gpudevice.go) is the GPU engine's
// gpu.Device on top of these.
//
// The package builds on every OS so that callers compile everywhere; off
// darwin every entry point returns ErrUnavailable. On darwin the frameworks
// are loaded once per process, on first use (a sync.Once), and a failure
// (no Metal.framework, a missing symbol, class or selector) is an
// ErrUnavailable error naming what is missing, kept and returned by every
// later call — never a panic. All message sending goes through the
// function variables of objc.go, bound to objc_msgSend on darwin and to a
// fake runtime in the tests, which is how the code below runs on Linux.
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
//     MTLFunctionConstantValues, command encoders, NSErrors) are
//     autoreleased or released before the call returns: every entry point
//     runs inside its own autorelease pool on one locked OS thread, because
//     a pool must be popped on the thread that pushed it. A command buffer
//     is the one object that outlives its pool: Submit retains it after
//     encoding and releases it after waiting.
//   - A Pipeline holds references to its function and to the Library it
//     came from, so the Library may be released first. Release the Device
//     last: the other objects do not keep it alive. A command buffer (made
//     with retained references, Metal's default) keeps the buffers and
//     pipelines it uses alive until the GPU has finished, so a Submit
//     abandoned by a cancelled context never makes Metal touch a freed
//     object; CommandQueue.Drain waits for such command buffers, and
//     CommandQueue.Release drains first.
//
// Go memory is never handed to Metal to keep: a Go slice given to
// NewBufferFrom is copied into a new shared-storage buffer, and Bytes
// arguments are copied when recorded and again by Metal when encoded. A
// Buffer's Contents is the buffer's memory, shared between CPU and GPU;
// it is valid until the Buffer is released and must not be written while
// a command buffer that reads it is in flight. Memory wrapped by
// NewBufferNoCopy stays the caller's: it must come from mmap (page-aligned,
// whole pages), and stay mapped until the Buffer is released and the queue
// drained.
package metal

import "github.com/vlmrt/vlmrt/internal/gpu"

// ErrUnavailable reports that Metal cannot be used: not darwin, the
// framework or one of its symbols or classes is missing, or the machine has
// no Metal device. Test with errors.Is; the wrapping error says which. It
// is also gpu.ErrUnavailable: errors.Is(err, gpu.ErrUnavailable) holds for
// every error that wraps it, so the engine falls back as it does when no
// Vulkan device is found.
var ErrUnavailable error = unavailable{}

type unavailable struct{}

func (unavailable) Error() string { return "metal: unavailable" }

// Is makes ErrUnavailable match gpu.ErrUnavailable.
func (unavailable) Is(target error) bool { return target == gpu.ErrUnavailable }
