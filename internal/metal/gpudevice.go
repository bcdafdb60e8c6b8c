package metal

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// The GPU engine's device (gpu.Device) on Metal. It is a thin layer over
// the rest of the package, so every Metal call it makes goes through the
// same message-sending code the fake runtime tests on Linux:
//
//   - Buffers are shared-storage MTLBuffers (unified memory): Write and
//     Read copy into and out of the buffer's contents, no staging.
//   - A Pipeline is the kernel's MSL specialized as plain source
//     (specializeMSL: a #define per specialization constant), compiled with
//     an explicit language version (LanguageVersion) and safe math, once
//     per distinct source (Device.cachedLibrary), and built for a
//     threadgroup of spec[0] × 1 × 1 threads. The entry point is
//     Kernel.Name + "_main"; storage buffer binding n is [[buffer(n)]] and
//     the push-constant block [[buffer(Kernel.Buffers)]], which
//     scripts/shaders.sh arranges and TestEngineKernelsMSLBindings checks.
//   - Commands are a recording (metal.Commands) of dispatches and
//     barriers; Run encodes it into one command buffer with one concurrent
//     compute encoder (a Barrier is memoryBarrierWithScope:buffers),
//     commits it and waits (CommandQueue.Replay: the next run's command
//     buffer is encoded while the GPU works). Push constants are copied
//     when recorded and set with setBytes:length:atIndex: at each encode.
//   - Misuse is an error, never a crash: a released buffer or pipeline,
//     values from another device, wrong counts and sizes, a function the
//     library lacks, a compile error (with the compiler's text).

// gpuLimits that Metal does not report through a plain message:
// maxThreadsPerThreadgroup returns an MTLSize struct (1024 on every Apple
// GPU since A11); threadExecutionWidth is per pipeline (32 on every Apple
// GPU).
const (
	gpuMaxThreads   = 1024
	gpuSubgroupSize = SIMDWidth
)

// OpenDevice opens the system's default Metal device as the GPU engine's
// device. Off darwin, or on a Mac without a usable Metal device, the error
// wraps gpu.ErrUnavailable (and ErrUnavailable). Register it as the
// "metal" backend's opener:
//
//	gpu.Opener(func() (gpu.Device, error) { return metal.OpenDevice() })
func OpenDevice() (gpu.Device, error) {
	d, err := Open()
	if err != nil {
		return nil, err
	}
	g, err := newGPUDevice(d)
	if err != nil {
		d.Release()
		return nil, err
	}
	return g, nil
}

// gpuDevice implements gpu.Device. It owns the Device and one queue.
type gpuDevice struct {
	d       *Device
	q       *CommandQueue
	info    gpu.DeviceInfo
	version MSLVersion

	mu     sync.Mutex
	closed bool
	live   struct{ buffers, pipelines, commands int }
}

var (
	_ gpu.Device   = (*gpuDevice)(nil)
	_ gpu.Buffer   = (*gpuBuffer)(nil)
	_ gpu.Pipeline = (*gpuPipeline)(nil)
	_ gpu.Commands = (*gpuCommands)(nil)
)

var errReleased = errors.New("metal: use after Release")

func newGPUDevice(d *Device) (*gpuDevice, error) {
	q, err := d.NewCommandQueue()
	if err != nil {
		return nil, err
	}
	typ := "discrete"
	if d.HasUnifiedMemory() {
		typ = "integrated"
	}
	return &gpuDevice{
		d: d, q: q, version: LanguageVersion,
		info: gpu.DeviceInfo{
			API:              "metal",
			Name:             d.Name(),
			Type:             typ,
			Driver:           "Metal (MSL " + LanguageVersion.String() + ")",
			MemoryBytes:      int64(d.RecommendedMaxWorkingSetSize()),
			SubgroupSize:     gpuSubgroupSize,
			MaxWorkgroupSize: gpuMaxThreads,
			MaxSharedBytes:   d.MaxThreadgroupMemoryLength(),
			MaxBufferBytes:   int64(d.MaxBufferLength()),
			UnifiedMemory:    d.HasUnifiedMemory(),
		},
	}, nil
}

func (g *gpuDevice) Info() gpu.DeviceInfo { return g.info }

// acquire counts a new object made by g; it fails once g is closed.
func (g *gpuDevice) acquire(n *int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("metal: device is closed")
	}
	*n++
	return nil
}

func (g *gpuDevice) releaseCount(n *int) {
	g.mu.Lock()
	*n--
	g.mu.Unlock()
}

// Close releases the queue (waiting for work in flight) and the device,
// with the libraries it compiled. Everything made from it must have been
// released; closing again does nothing.
func (g *gpuDevice) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	if l := g.live; l.buffers+l.pipelines+l.commands > 0 {
		return fmt.Errorf("metal: Close with %d buffers, %d pipelines and %d command lists not released", l.buffers, l.pipelines, l.commands)
	}
	g.closed = true
	g.q.Release()
	g.d.Release()
	return nil
}

// gpuBuffer is a shared-storage MTLBuffer of at least 4 bytes (Metal has
// no empty buffers; the kernels load 32-bit words).
type gpuBuffer struct {
	g    *gpuDevice
	size int64

	mu sync.Mutex // guards b against Release racing a Write or Read
	b  *Buffer    // nil once released
}

// NewBuffer allocates size bytes of zeroed shared memory.
func (g *gpuDevice) NewBuffer(size int64) (gpu.Buffer, error) {
	if size < 0 {
		return nil, fmt.Errorf("metal: NewBuffer(%d): negative size", size)
	}
	if size > g.info.MaxBufferBytes {
		return nil, fmt.Errorf("metal: NewBuffer(%d): larger than the device's maxBufferLength of %d bytes", size, g.info.MaxBufferBytes)
	}
	if err := g.acquire(&g.live.buffers); err != nil {
		return nil, err
	}
	n := max((size+3)&^3, 4)
	b, err := g.d.NewBuffer(int(n))
	if err != nil {
		g.releaseCount(&g.live.buffers)
		return nil, err
	}
	return &gpuBuffer{g: g, size: size, b: b}, nil
}

func (b *gpuBuffer) Size() int64 { return b.size }

func (b *gpuBuffer) span(op string, off int64, n int) error {
	if off < 0 || off > b.size || int64(n) > b.size-off {
		return fmt.Errorf("metal: Buffer.%s of %d bytes at offset %d: outside the buffer's %d bytes", op, n, off, b.size)
	}
	return nil
}

// Write copies data into the buffer's contents at off.
func (b *gpuBuffer) Write(off int64, data []byte) error {
	if err := b.span("Write", off, len(data)); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b == nil {
		return fmt.Errorf("metal: Buffer.Write: %w", errReleased)
	}
	copy(b.b.Contents()[off:], data)
	return nil
}

// Read copies len(data) bytes of the buffer's contents from off.
func (b *gpuBuffer) Read(off int64, data []byte) error {
	if err := b.span("Read", off, len(data)); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b == nil {
		return fmt.Errorf("metal: Buffer.Read: %w", errReleased)
	}
	copy(data, b.b.Contents()[off:])
	return nil
}

// Release drops the MTLBuffer. A command buffer encoded with it (one in
// flight, or a Commands' spare) keeps the memory until it is done with
// it; a Commands that recorded the buffer refuses to Run afterwards.
func (b *gpuBuffer) Release() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b == nil {
		return
	}
	b.b.Release()
	b.b = nil
	b.g.releaseCount(&b.g.live.buffers)
}

// buffer is the Metal buffer, nil once released.
func (b *gpuBuffer) buffer() *Buffer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b
}

// gpuPipeline is one specialization of a kernel.
type gpuPipeline struct {
	g       *gpuDevice
	k       *gpu.Kernel
	threads int // threadgroup width: spec[0]

	mu sync.Mutex
	p  *Pipeline // nil once released
}

// Pipeline compiles kernel k specialized with spec.
func (g *gpuDevice) Pipeline(k *gpu.Kernel, spec []uint32) (gpu.Pipeline, error) {
	if err := g.checkKernel(k, spec); err != nil {
		return nil, err
	}
	src, err := specializeMSL(k, spec)
	if err != nil {
		return nil, err
	}
	if err := g.acquire(&g.live.pipelines); err != nil {
		return nil, err
	}
	ctx := context.Background()
	lib, err := g.d.cachedLibrary(ctx, src, g.version)
	var p *Pipeline
	if err == nil {
		threads := Size{int(spec[0]), 1, 1}
		p, err = g.d.NewPipelineWith(ctx, lib, k.Name+"_main", PipelineOptions{Threadgroup: threads})
	}
	if err == nil && p.StaticThreadgroupMemoryLength() > g.info.MaxSharedBytes {
		err = fmt.Errorf("metal: pipeline uses %d bytes of threadgroup memory, the device has %d", p.StaticThreadgroupMemoryLength(), g.info.MaxSharedBytes)
		p.Release()
	}
	if err != nil {
		g.releaseCount(&g.live.pipelines)
		return nil, fmt.Errorf("metal: kernel %s (%s): %w", k.Name, k.DescribeSpec(spec), err)
	}
	return &gpuPipeline{g: g, k: k, threads: int(spec[0]), p: p}, nil
}

// checkKernel refuses a kernel the device cannot bind or run as described.
func (g *gpuDevice) checkKernel(k *gpu.Kernel, spec []uint32) error {
	if k == nil {
		return errors.New("metal: Pipeline: nil kernel")
	}
	switch {
	case k.MSL == "":
		return fmt.Errorf("metal: kernel %s has no MSL", k.Name)
	case len(spec) != len(k.Spec) || len(spec) == 0:
		return fmt.Errorf("metal: kernel %s: %d specialization constants given, the kernel has %d (%v); constant 0 is the workgroup size", k.Name, len(spec), len(k.Spec), k.Spec)
	case k.Buffers < 0 || k.Buffers > MaxArgIndex:
		return fmt.Errorf("metal: kernel %s: %d storage buffers, Metal binds at most %d with the push constants after them", k.Name, k.Buffers, MaxArgIndex)
	case k.PushBytes < 0 || k.PushBytes%4 != 0 || k.PushBytes > MaxBytesArg:
		return fmt.Errorf("metal: kernel %s: %d bytes of push constants, need a multiple of 4 up to %d (setBytes)", k.Name, k.PushBytes, MaxBytesArg)
	case spec[0] == 0 || spec[0] > gpuMaxThreads:
		return fmt.Errorf("metal: kernel %s: workgroup size %d, the device allows 1..%d", k.Name, spec[0], gpuMaxThreads)
	}
	if shared, err := k.SharedBytes(spec); err != nil {
		return fmt.Errorf("metal: %w", err)
	} else if shared > g.info.MaxSharedBytes {
		return fmt.Errorf("metal: kernel %s (%s) needs %d bytes of threadgroup memory, the device (%s) has %d", k.Name, k.DescribeSpec(spec), shared, g.info.Name, g.info.MaxSharedBytes)
	}
	return nil
}

func (p *gpuPipeline) Kernel() *gpu.Kernel { return p.k }

// Release frees the pipeline; a Commands that recorded it refuses to Run
// afterwards. Releasing again does nothing.
func (p *gpuPipeline) Release() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p == nil {
		return
	}
	p.p.Release()
	p.p = nil
	p.g.releaseCount(&p.g.live.pipelines)
}

func (p *gpuPipeline) pipeline() *Pipeline {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.p
}

// gpuCommands is a recorded list, re-encoded into one command buffer per
// Run. Like the Vulkan device's, it is recorded until its first Run and
// then only replayed until Reset.
type gpuCommands struct {
	g   *gpuDevice
	rec Commands

	ended    bool
	released bool
	err      error // a Barrier that could not be recorded, reported by Run

	usedBufs  map[*gpuBuffer]struct{}
	usedPipes map[*gpuPipeline]struct{}
}

func (g *gpuDevice) NewCommands() (gpu.Commands, error) {
	if err := g.acquire(&g.live.commands); err != nil {
		return nil, err
	}
	return &gpuCommands{g: g, usedBufs: map[*gpuBuffer]struct{}{}, usedPipes: map[*gpuPipeline]struct{}{}}, nil
}

// Dispatch records p over groups threadgroups of spec[0] threads, storage
// buffer i at [[buffer(i)]] and push at [[buffer(len(bufs))]]. Everything
// is checked here; nothing is recorded on error.
func (c *gpuCommands) Dispatch(gp gpu.Pipeline, groups [3]uint32, push []byte, bufs ...gpu.Buffer) error {
	if c.released {
		return fmt.Errorf("metal: Dispatch: %w", errReleased)
	}
	if c.ended {
		return errors.New("metal: Dispatch after Run: the list is recorded; Reset it to record again")
	}
	p, ok := gp.(*gpuPipeline)
	if !ok || p == nil {
		return fmt.Errorf("metal: Dispatch: pipeline is %T, not a Metal pipeline", gp)
	}
	k := p.k
	if p.g != c.g {
		return fmt.Errorf("metal: Dispatch %s: pipeline is from another device", k.Name)
	}
	mp := p.pipeline()
	if mp == nil {
		return fmt.Errorf("metal: Dispatch %s: pipeline %w", k.Name, errReleased)
	}
	if len(push) != k.PushBytes {
		return fmt.Errorf("metal: Dispatch %s: %d bytes of push constants, the kernel takes %d", k.Name, len(push), k.PushBytes)
	}
	if len(bufs) != k.Buffers {
		return fmt.Errorf("metal: Dispatch %s: %d buffers, the kernel binds %d", k.Name, len(bufs), k.Buffers)
	}
	for i, n := range groups {
		if n == 0 {
			return fmt.Errorf("metal: Dispatch %s: 0 workgroups along %c", k.Name, "xyz"[i])
		}
	}
	args := make([]Arg, 0, len(bufs)+1)
	bs := make([]*gpuBuffer, len(bufs))
	for i, gb := range bufs {
		b, ok := gb.(*gpuBuffer)
		if !ok || b == nil {
			return fmt.Errorf("metal: Dispatch %s: buffer %d is %T, not a Metal buffer", k.Name, i, gb)
		}
		if b.g != c.g {
			return fmt.Errorf("metal: Dispatch %s: buffer %d is from another device", k.Name, i)
		}
		mb := b.buffer()
		if mb == nil {
			return fmt.Errorf("metal: Dispatch %s: buffer %d %w", k.Name, i, errReleased)
		}
		args = append(args, BufferArg(i, mb))
		bs[i] = b
	}
	if len(push) > 0 {
		args = append(args, BytesArg(k.Buffers, push)) // copied by rec.Dispatch
	}
	g := Size{int(groups[0]), int(groups[1]), int(groups[2])}
	if err := checkDispatch(mp, g, Size{p.threads, 1, 1}, args); err != nil {
		return err
	}
	c.rec.Dispatch(mp, g, Size{p.threads, 1, 1}, args...)
	c.usedPipes[p] = struct{}{}
	for _, b := range bs {
		c.usedBufs[b] = struct{}{}
	}
	return nil
}

// Barrier records a memory barrier over buffers between the dispatches
// before and after it.
func (c *gpuCommands) Barrier() {
	if c.released || c.ended {
		if c.err == nil {
			c.err = errors.New("metal: Barrier after Run or Release: the list is recorded; Reset it to record again")
		}
		return
	}
	c.rec.Barrier()
}

// Run encodes the list into one command buffer, commits it and waits for
// the GPU. ctx is checked before submitting; if it ends while the GPU
// runs, Run still waits (the buffers are in use until then) and then
// returns ctx.Err().
func (c *gpuCommands) Run(ctx context.Context) error {
	if c.released {
		return fmt.Errorf("metal: Run: %w", errReleased)
	}
	if c.err != nil {
		return c.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for p := range c.usedPipes {
		if p.pipeline() == nil {
			return fmt.Errorf("metal: Run: pipeline %s was released after it was recorded", p.k.Name)
		}
	}
	for b := range c.usedBufs {
		if b.buffer() == nil {
			return fmt.Errorf("metal: Run: a buffer of %d bytes was released after it was recorded", b.size)
		}
	}
	c.ended = true
	if c.rec.Len() == 0 {
		return nil
	}
	if _, err := c.g.q.Replay(context.Background(), &c.rec); err != nil {
		return err
	}
	return ctx.Err()
}

// Reset empties the list (and drops the command buffer encoded ahead).
func (c *gpuCommands) Reset() error {
	if c.released {
		return fmt.Errorf("metal: Reset: %w", errReleased)
	}
	c.rec.Reset()
	clear(c.usedBufs)
	clear(c.usedPipes)
	c.ended, c.err = false, nil
	return nil
}

// Release drops the recording and the command buffer encoded ahead, with
// its references to buffers and pipelines. It must not be called while
// Run is in progress; releasing again does nothing.
func (c *gpuCommands) Release() {
	if c == nil || c.released {
		return
	}
	c.released = true
	c.rec.Reset()
	clear(c.usedBufs)
	clear(c.usedPipes)
	c.g.releaseCount(&c.g.live.commands)
}
