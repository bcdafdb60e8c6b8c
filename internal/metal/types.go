package metal

import "fmt"

// The Go values wrapping Metal objects. Their fields are the same on every
// OS so that argument checking is shared and tested everywhere; only darwin
// ever fills in a non-zero object id.

// Device is the Metal device (MTLDevice) a process computes on.
type Device struct {
	id         uintptr // MTLDevice, owned (+1 from MTLCreateSystemDefaultDevice)
	name       string
	workingSet uint64
	maxBuffer  int
}

// Name is the device's product name as Metal reports it ("Apple M4 Max").
func (d *Device) Name() string {
	if d == nil {
		return ""
	}
	return d.name
}

// RecommendedMaxWorkingSetSize is the number of bytes of buffers the device
// can keep resident without hurting performance (Metal's
// recommendedMaxWorkingSetSize): the budget weights and KV cache must fit.
func (d *Device) RecommendedMaxWorkingSetSize() uint64 {
	if d == nil {
		return 0
	}
	return d.workingSet
}

// MaxBufferLength is the largest buffer the device can allocate, in bytes.
func (d *Device) MaxBufferLength() int {
	if d == nil {
		return 0
	}
	return d.maxBuffer
}

// Buffer is a shared-storage MTLBuffer: one allocation the CPU writes
// through Contents and the GPU reads and writes, with no copies.
type Buffer struct {
	id       uintptr // MTLBuffer, owned (+1 from newBufferWithLength:options:)
	contents []byte  // the buffer's memory; nil once released
}

// Contents is the buffer's memory. It stays valid until Release; do not
// write it while a dispatch reading it runs, nor read results before the
// dispatch that writes them has returned.
func (b *Buffer) Contents() []byte {
	if b == nil {
		return nil
	}
	return b.contents
}

// Len is the buffer's length in bytes (0 once released).
func (b *Buffer) Len() int { return len(b.Contents()) }

// Library is compiled Metal Shading Language (an MTLLibrary).
type Library struct {
	id       uintptr // MTLLibrary, owned (+1 from newLibraryWithSource:options:error:)
	warnings string
}

// Warnings is the compiler's diagnostic text for a source that compiled
// with warnings, or "".
func (l *Library) Warnings() string {
	if l == nil {
		return ""
	}
	return l.warnings
}

// Pipeline is one kernel function ready to dispatch (an
// MTLComputePipelineState and the MTLFunction it was built from).
type Pipeline struct {
	id, fn     uintptr // both owned (+1 from new… selectors)
	lib        uintptr // the function's library, retained by the pipeline
	name       string
	maxThreads int
	simdWidth  int
}

// Name is the kernel function the pipeline runs.
func (p *Pipeline) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// MaxTotalThreadsPerThreadgroup is this pipeline's threadgroup size limit,
// which can be below the device's when the kernel uses many registers.
func (p *Pipeline) MaxTotalThreadsPerThreadgroup() int {
	if p == nil {
		return 0
	}
	return p.maxThreads
}

// ThreadExecutionWidth is the SIMD-group width the pipeline runs at (32 on
// Apple GPUs; the kernels in Source assume SIMDWidth).
func (p *Pipeline) ThreadExecutionWidth() int {
	if p == nil {
		return 0
	}
	return p.simdWidth
}

// CommandQueue submits work to a device (an MTLCommandQueue). It is safe
// for concurrent use: each Dispatch makes its own command buffer.
type CommandQueue struct {
	id uintptr // MTLCommandQueue, owned (+1 from newCommandQueue)
}

// Size is a grid or threadgroup shape (MTLSize).
type Size struct{ Width, Height, Depth int }

// count is the number of threads or threadgroups the shape holds.
func (s Size) count() int { return s.Width * s.Height * s.Depth }

// Arg binds one kernel argument of a Dispatch: a Buffer (from Offset) or
// small inline Bytes, at argument table index Index.
type Arg struct {
	Index  int
	Buffer *Buffer
	Offset int
	Bytes  []byte
}

// BufferArg binds the whole buffer b at index.
func BufferArg(index int, b *Buffer) Arg { return Arg{Index: index, Buffer: b} }

// BytesArg binds a copy of data at index (Metal copies it when encoding;
// at most MaxBytesArg bytes).
func BytesArg(index int, data []byte) Arg { return Arg{Index: index, Bytes: data} }

const (
	// MaxBytesArg is the largest inline argument Metal accepts
	// (setBytes:length:atIndex: is documented for data up to 4 KB).
	MaxBytesArg = 4096
	// MaxArgIndex is the last buffer argument table index (31 entries).
	MaxArgIndex = 30
)

// checkDispatch validates a dispatch before any Metal call: Metal's own
// checks abort the process (or, without the validation layer, read out of
// bounds) instead of returning an error.
func checkDispatch(p *Pipeline, groups, threads Size, args []Arg) error {
	if p == nil || p.id == 0 {
		return fmt.Errorf("metal: dispatch: nil or released pipeline")
	}
	for _, s := range []struct {
		what string
		v    Size
	}{{"threadgroup count", groups}, {"threads per threadgroup", threads}} {
		if s.v.Width <= 0 || s.v.Height <= 0 || s.v.Depth <= 0 {
			return fmt.Errorf("metal: dispatch %s: %s %v must be positive in every dimension", p.name, s.what, s.v)
		}
	}
	if n := threads.count(); n > p.maxThreads {
		return fmt.Errorf("metal: dispatch %s: %d threads per threadgroup %v, the pipeline allows %d",
			p.name, n, threads, p.maxThreads)
	}
	var seen [MaxArgIndex + 1]bool
	for _, a := range args {
		if a.Index < 0 || a.Index > MaxArgIndex {
			return fmt.Errorf("metal: dispatch %s: argument index %d outside 0..%d", p.name, a.Index, MaxArgIndex)
		}
		if seen[a.Index] {
			return fmt.Errorf("metal: dispatch %s: argument index %d bound twice", p.name, a.Index)
		}
		seen[a.Index] = true
		switch {
		case a.Buffer != nil && a.Bytes != nil:
			return fmt.Errorf("metal: dispatch %s: argument %d has both a buffer and bytes", p.name, a.Index)
		case a.Buffer != nil:
			if a.Buffer.id == 0 {
				return fmt.Errorf("metal: dispatch %s: argument %d: released buffer", p.name, a.Index)
			}
			if a.Offset < 0 || a.Offset >= a.Buffer.Len() {
				return fmt.Errorf("metal: dispatch %s: argument %d: offset %d outside the %d-byte buffer",
					p.name, a.Index, a.Offset, a.Buffer.Len())
			}
		case len(a.Bytes) > 0:
			if a.Offset != 0 {
				return fmt.Errorf("metal: dispatch %s: argument %d: an offset applies to buffers, not bytes", p.name, a.Index)
			}
			if len(a.Bytes) > MaxBytesArg {
				return fmt.Errorf("metal: dispatch %s: argument %d: %d inline bytes, Metal takes at most %d (use a Buffer)",
					p.name, a.Index, len(a.Bytes), MaxBytesArg)
			}
		default:
			return fmt.Errorf("metal: dispatch %s: argument %d has neither a buffer nor bytes", p.name, a.Index)
		}
	}
	return nil
}

// NewBufferFrom returns a new shared-storage buffer holding a copy of data
// (Metal never sees Go memory).
func (d *Device) NewBufferFrom(data []byte) (*Buffer, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("metal: new buffer from an empty slice")
	}
	b, err := d.newBuffer(len(data), false)
	if err != nil {
		return nil, err
	}
	copy(b.contents, data)
	return b, nil
}

// NewBuffer returns a new zero-filled shared-storage buffer of size bytes.
func (d *Device) NewBuffer(size int) (*Buffer, error) { return d.newBuffer(size, true) }

// checkBufferSize refuses sizes Metal would fail on (or abort for).
func (d *Device) checkBufferSize(size int) error {
	if size <= 0 {
		return fmt.Errorf("metal: buffer size %d must be positive", size)
	}
	if d.maxBuffer > 0 && size > d.maxBuffer {
		return fmt.Errorf("metal: buffer of %d bytes exceeds the device's maximum of %d", size, d.maxBuffer)
	}
	return nil
}
