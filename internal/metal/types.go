package metal

import (
	"fmt"
	"sync"
)

// The Go values wrapping Metal objects. Their fields are the same on every
// OS so that argument checking is shared and tested everywhere; only darwin
// ever fills in a non-zero object id.

// Device is the Metal device (MTLDevice) a process computes on.
type Device struct {
	id         uintptr // MTLDevice, owned (+1 from MTLCreateSystemDefaultDevice)
	name       string
	workingSet uint64
	maxBuffer  int
	// maxTGMemory is the threadgroup memory one threadgroup may use;
	// unifiedMemory is true on Apple silicon (CPU and GPU share memory).
	maxTGMemory   int
	unifiedMemory bool

	// libs caches the libraries NewKernel compiled, by source and
	// version: kernels specialized only by function constants share one
	// compile. Released with the device.
	libMu sync.Mutex
	libs  map[libraryKey]*libraryEntry
}

// libraryEntry is one cached compile: done closes when lib or err is set.
type libraryEntry struct {
	done chan struct{}
	lib  *Library
	err  error
}

type libraryKey struct {
	source  string
	version MSLVersion
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

// MaxThreadgroupMemoryLength is the threadgroup (shared) memory a kernel's
// threadgroup may use, in bytes (32 KiB on Apple GPUs).
func (d *Device) MaxThreadgroupMemoryLength() int {
	if d == nil {
		return 0
	}
	return d.maxTGMemory
}

// HasUnifiedMemory reports whether the CPU and the GPU share memory (Apple
// silicon): shared-storage buffers are then the GPU's own memory, and
// wrapping mapped weights costs no copy and no bus transfer.
func (d *Device) HasUnifiedMemory() bool { return d != nil && d.unifiedMemory }

// Buffer is a shared-storage MTLBuffer: one allocation the CPU writes
// through Contents and the GPU reads and writes, with no copies.
type Buffer struct {
	id       uintptr // MTLBuffer, owned (+1 from newBuffer…)
	contents []byte  // the buffer's memory; nil once released
	noCopy   bool    // contents is the caller's mapping (NewBufferNoCopy)
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

// NoCopy reports whether the buffer wraps the caller's memory
// (NewBufferNoCopy) rather than memory Metal allocated.
func (b *Buffer) NoCopy() bool { return b != nil && b.noCopy }

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
	id, fn      uintptr // both owned (+1 from new… selectors)
	lib         uintptr // the function's library, retained by the pipeline
	name        string
	maxThreads  int
	simdWidth   int
	staticTGMem int  // bytes of threadgroup memory the function declares
	threadgroup Size // the kernel's threadgroup size (zero: given per dispatch)
}

// Name is the kernel function the pipeline runs.
func (p *Pipeline) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// StaticThreadgroupMemoryLength is the threadgroup memory, in bytes, that
// the kernel declares in its source (spirv-cross turns GLSL shared arrays
// into such declarations).
func (p *Pipeline) StaticThreadgroupMemoryLength() int {
	if p == nil {
		return 0
	}
	return p.staticTGMem
}

// Threadgroup is the threadgroup size the pipeline was built for
// (PipelineOptions.Threadgroup), or the zero Size.
func (p *Pipeline) Threadgroup() Size {
	if p == nil {
		return Size{}
	}
	return p.threadgroup
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
// for concurrent use: each Submit (and Dispatch) makes its own command
// buffer.
type CommandQueue struct {
	id       uintptr        // MTLCommandQueue, owned (+1 from newCommandQueue)
	inflight sync.WaitGroup // committed command buffers not yet waited for
}

// MSLVersion is a Metal Shading Language version as MTLLanguageVersion
// encodes it: major << 16 | minor.
type MSLVersion uint32

// The language versions NewLibraryVersion accepts, with the first OS that
// compiles them.
const (
	MSL2_4 MSLVersion = 2<<16 | 4 // macOS 12
	MSL3_0 MSLVersion = 3 << 16   // macOS 13
	MSL3_1 MSLVersion = 3<<16 | 1 // macOS 14
	MSL3_2 MSLVersion = 3<<16 | 2 // macOS 15
)

func (v MSLVersion) String() string { return fmt.Sprintf("%d.%d", v>>16, v&0xffff) }

func (v MSLVersion) valid() bool {
	switch v {
	case MSL2_4, MSL3_0, MSL3_1, MSL3_2:
		return true
	}
	return false
}

// ConstantType is the type of a function constant's value.
type ConstantType uint8

const (
	ConstUint32 ConstantType = iota + 1
	ConstInt32
	ConstFloat32
	ConstBool
)

// mtlDataType is the type's MTLDataType.
func (t ConstantType) mtlDataType() int {
	switch t {
	case ConstUint32:
		return 33 // MTLDataTypeUInt
	case ConstInt32:
		return 29 // MTLDataTypeInt
	case ConstFloat32:
		return 3 // MTLDataTypeFloat
	case ConstBool:
		return 53 // MTLDataTypeBool
	}
	return 0
}

func (t ConstantType) String() string {
	switch t {
	case ConstUint32:
		return "uint"
	case ConstInt32:
		return "int"
	case ConstFloat32:
		return "float"
	case ConstBool:
		return "bool"
	}
	return fmt.Sprintf("ConstantType(%d)", uint8(t))
}

// Constant is one function constant value: the [[function_constant(Index)]]
// of the kernel, of Type, holding Value's bits (a uint32 or int32 as is, a
// float32's math.Float32bits, a bool as 0 or 1). A SPIR-V specialization
// constant with SpecId n becomes function constant n in spirv-cross's MSL.
type Constant struct {
	Index int
	Type  ConstantType
	Value uint32
}

func (c Constant) String() string { return fmt.Sprintf("%d:%v=%d", c.Index, c.Type, c.Value) }

// PipelineOptions specialize a pipeline.
type PipelineOptions struct {
	// Constants are the function constant values; constants the source
	// declares and this list omits take the source's defaults.
	Constants []Constant
	// Threadgroup is the threadgroup size the kernel is written for (its
	// GLSL local_size). Set, it is checked against the pipeline's limit
	// when built, and dispatches that pass a zero Size use it.
	Threadgroup Size
}

// checkPipelineOptions refuses options Metal would misread.
func checkPipelineOptions(function string, o PipelineOptions) error {
	seen := map[int]bool{}
	for _, c := range o.Constants {
		if c.Index < 0 || c.Index > 0xffff {
			return fmt.Errorf("metal: pipeline %q: function constant index %d outside 0..65535", function, c.Index)
		}
		if seen[c.Index] {
			return fmt.Errorf("metal: pipeline %q: function constant %d given twice", function, c.Index)
		}
		seen[c.Index] = true
		if c.Type.mtlDataType() == 0 {
			return fmt.Errorf("metal: pipeline %q: function constant %d has unknown type %v", function, c.Index, c.Type)
		}
		if c.Type == ConstBool && c.Value > 1 {
			return fmt.Errorf("metal: pipeline %q: bool function constant %d holds %d", function, c.Index, c.Value)
		}
	}
	if t := o.Threadgroup; t != (Size{}) && (t.Width <= 0 || t.Height <= 0 || t.Depth <= 0) {
		return fmt.Errorf("metal: pipeline %q: threadgroup size %v must be positive in every dimension", function, t)
	}
	return nil
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
	if tg := p.threadgroup; tg != (Size{}) && threads != tg {
		return fmt.Errorf("metal: dispatch %s: threadgroup %v, but the kernel is built for %v", p.name, threads, tg)
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
