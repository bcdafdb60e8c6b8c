// Package gpu is vlmrt's GPU engine above the device: the model's weights in
// device buffers, the decoder and vision tower as recorded kernel
// dispatches, and the engine.Backend over them. It never calls a GPU API
// itself: everything device-specific sits behind Device, implemented by
// internal/vulkan (Vulkan through purego) and internal/metal (Metal through
// purego). The kernels are written once in GLSL (shaders/*.comp), compiled to
// SPIR-V for Vulkan and translated to Metal Shading Language for Metal; both
// forms are committed and embedded (see shaders/README.md and `make shaders`).
package gpu

import (
	"context"
	"errors"
)

// ErrUnavailable reports that no usable GPU was found: no loader library, no
// device, or a device without a feature the kernels need. The message names
// what is missing.
var ErrUnavailable = errors.New("gpu: unavailable")

// DeviceInfo describes a device as the engine needs to know it.
type DeviceInfo struct {
	API          string // "vulkan" or "metal"
	Name         string // the driver's device name ("llvmpipe (LLVM 19.1.7, 256 bits)")
	Type         string // "integrated", "discrete", "cpu", "virtual", "other"
	Driver       string // driver name and version where the API reports them
	MemoryBytes  int64  // device-local memory (the largest device-local heap)
	SubgroupSize int    // threads per subgroup / SIMD-group (8 on lavapipe, 32 on Apple)
	// MaxWorkgroupSize is the most invocations one workgroup may have.
	MaxWorkgroupSize int
	// MaxSharedBytes is the shared (threadgroup) memory per workgroup.
	MaxSharedBytes int
	// MaxBufferBytes is the largest single storage buffer binding.
	MaxBufferBytes int64
	// UnifiedMemory is true when device-local memory is also host-visible
	// (Apple silicon, integrated GPUs, lavapipe): uploads need no staging.
	UnifiedMemory bool
}

// Device is one GPU. It is safe for concurrent use; the Buffers, Pipelines
// and Commands it makes belong to it and must be released before it.
type Device interface {
	Info() DeviceInfo
	// NewBuffer allocates size bytes of zeroed device memory usable as a
	// storage buffer by every kernel.
	NewBuffer(size int64) (Buffer, error)
	// Pipeline builds kernel k with its specialization constants spec
	// (spec[i] is constant_id i; len(spec) == len(k.Spec)).
	Pipeline(k *Kernel, spec []uint32) (Pipeline, error)
	// NewCommands starts an empty command list.
	NewCommands() (Commands, error)
	// Close releases the device. Everything it made must be released first.
	Close() error
}

// Buffer is device memory. Write and Read are synchronous and must not run
// while a Commands using the buffer is running.
type Buffer interface {
	Size() int64
	// Write copies data to the buffer at byte offset off.
	Write(off int64, data []byte) error
	// Read copies len(data) bytes from byte offset off into data.
	Read(off int64, data []byte) error
	// Release frees the memory; it is idempotent.
	Release()
}

// Pipeline is one kernel compiled for the device with fixed specialization
// constants.
type Pipeline interface {
	Kernel() *Kernel
	Release()
}

// Commands is a recorded list of dispatches that can be run any number of
// times (a decode step is recorded once per sequence and replayed: what
// changes between steps is read by the kernels from buffers the host writes
// before Run). It is used by one goroutine at a time.
type Commands interface {
	// Dispatch records pipeline p over groups workgroups with bufs bound at
	// bindings 0..len(bufs)-1 (len(bufs) == p.Kernel().Buffers) and push
	// as its push constants (len(push) == p.Kernel().PushBytes).
	Dispatch(p Pipeline, groups [3]uint32, push []byte, bufs ...Buffer) error
	// Barrier makes the writes of every dispatch recorded before it visible
	// to every dispatch recorded after it.
	Barrier()
	// Run submits what was recorded and waits until the device has finished.
	// ctx is checked before submitting; a device cannot stop mid-list.
	Run(ctx context.Context) error
	// Reset empties the list for recording again.
	Reset() error
	// Release frees the list; it is idempotent.
	Release()
}

// Kernel describes one compute kernel: its code in both forms and the
// interface the Go side relies on. The descriptions are generated with the
// code (shaders/kernels.go) and checked against the MSL by tests.
type Kernel struct {
	Name string // the GLSL file's base name; the MSL entry point is Name+"_main" (see shaders)
	// SPIRV is the Vulkan form, MSL the Metal form of the same GLSL.
	SPIRV []byte
	MSL   string
	// Buffers is the number of storage buffers (bindings 0..Buffers-1 of set 0).
	Buffers int
	// PushBytes is the size of the push-constant block (0: none). On Metal it
	// is passed with setBytes at buffer index Buffers.
	PushBytes int
	// Spec names the specialization constants in constant_id order; constant
	// 0 is always the workgroup size along x ("local_size_x").
	Spec []string
	// Shared lists the shared (threadgroup) arrays the kernel declares;
	// SharedBytes gives their size for a specialization, which the devices
	// check against their limit before building a pipeline.
	Shared []SharedArray
}

// ErrUnsupported reports a model or request the GPU engine cannot run
// (a shape its kernels do not take).
var ErrUnsupported = errors.New("gpu: unsupported model")
