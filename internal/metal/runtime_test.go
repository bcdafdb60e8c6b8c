package metal

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests drive the package's real code — every message it sends —
// against the fake Objective-C runtime of fakeobjc_test.go, on any OS. The
// fake's cleanup fails a test on any message to a freed object, any
// over-release, any object left alive, any unpopped autorelease pool, and
// any dispatch that leaves one of its kernel's [[buffer(n)]] unbound.

func fakeDevice(t *testing.T) (*fakeRuntime, *Device) {
	t.Helper()
	f := installFake(t)
	d, err := Open()
	if err != nil {
		t.Fatalf("Open on the fake runtime: %v", err)
	}
	t.Cleanup(d.Release) // runs before the fake's leak check
	return f, d
}

func TestFakeOpenDeviceAndBuffers(t *testing.T) {
	_, d := fakeDevice(t)
	if d.Name() != "Fake M4 Max" || d.RecommendedMaxWorkingSetSize() != 48<<30 || d.MaxBufferLength() != 32<<30 ||
		d.MaxThreadgroupMemoryLength() != 32<<10 || !d.HasUnifiedMemory() {
		t.Errorf("device %q, working set %d, max buffer %d, threadgroup memory %d, unified %v", d.Name(),
			d.RecommendedMaxWorkingSetSize(), d.MaxBufferLength(), d.MaxThreadgroupMemoryLength(), d.HasUnifiedMemory())
	}
	z, err := d.NewBuffer(100)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(z.Contents(), func(b byte) bool { return b != 0 }) {
		t.Error("NewBuffer is not zeroed (Metal does not promise zeroed memory)")
	}
	src := []byte{1, 2, 3}
	c, err := d.NewBufferFrom(src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 9
	if !slices.Equal(c.Contents(), []byte{1, 2, 3}) || c.NoCopy() {
		t.Errorf("NewBufferFrom holds %v (no-copy %v), want a copy [1 2 3]", c.Contents(), c.NoCopy())
	}
	if _, err := d.NewBuffer(0); err == nil {
		t.Error("a zero-byte buffer was made")
	}
	if _, err := d.NewBuffer(d.MaxBufferLength() + 1); err == nil {
		t.Error("a buffer above the device's maximum was made")
	}
	z.Release()
	z.Release() // idempotent: the fake fails an over-release
	c.Release()
	if z.Len() != 0 || z.Contents() != nil {
		t.Error("a released buffer keeps its contents")
	}
	if _, err := d.NewBufferFrom(nil); err == nil {
		t.Error("a buffer from nothing was made")
	}
}

func TestFakeLoadFailures(t *testing.T) {
	f := installFake(t)
	f.noDevice = true
	if _, err := Open(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no Metal device") {
		t.Errorf("Open with no device: %v", err)
	}

	f = installFake(t)
	f.missingClass = "MTLFunctionConstantValues"
	_, err := Open()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "MTLFunctionConstantValues") {
		t.Errorf("Open with a class missing: %v", err)
	}
	// The failure is kept: every later call reports it.
	if _, err2 := (&Device{id: 1}).NewBuffer(4); !errors.Is(err2, ErrUnavailable) {
		t.Errorf("after a failed load, NewBuffer: %v", err2)
	}
}

const twoKernels = `#include <metal_stdlib>
using namespace metal;
constant uint ROWS_tmp [[function_constant(1)]];
constant uint ROWS = is_function_constant_defined(ROWS_tmp) ? ROWS_tmp : 4u;
constant float SCALE_tmp [[function_constant(2)]];
kernel void add_one(device float* y [[buffer(0)]], constant uint& n [[buffer(1)]], uint i [[thread_position_in_grid]]) { if (i < n) y[i] += 1.0f; }
kernel void twice(device float* y [[buffer(0)]], const device float* x [[buffer(2)]], constant uint& n [[buffer(1)]], uint i [[thread_position_in_grid]]) { if (i < n) y[i] = 2.0f * x[i]; }
`

func TestFakeLibraryAndPipelines(t *testing.T) {
	f, d := fakeDevice(t)
	ctx := context.Background()
	for _, v := range []MSLVersion{MSL3_0, MSL3_1} {
		l, err := d.NewLibraryVersion(ctx, twoKernels, v)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.objs[l.id].version; got != uint64(v) {
			t.Errorf("compiled as MTLLanguageVersion %#x, want %#x", got, uint64(v))
		}
		l.Release()
	}
	if _, err := d.NewLibraryVersion(ctx, twoKernels, 2<<16); err == nil || !strings.Contains(err.Error(), "2.0") {
		t.Errorf("MSL 2.0 accepted or not named: %v", err)
	}
	if _, err := d.NewLibrary(ctx, "kernel void k() {}\x00"); err == nil {
		t.Error("a source with NUL compiled")
	}
	// Before macOS 15 there is no setMathMode:, fast math is turned off instead.
	f.noMathMode = true
	l, err := d.NewLibrary(ctx, twoKernels)
	if err != nil {
		t.Fatal(err)
	}
	f.noMathMode = false
	defer l.Release()

	// A function the library lacks: the error lists the ones it has.
	if _, err := d.NewPipeline(ctx, l, "three_times"); err == nil || !strings.Contains(err.Error(), "add_one, twice") {
		t.Errorf("unknown function: %v", err)
	}
	// Function constants of the declared types; the wrong type is Metal's error.
	p, err := d.NewPipelineWith(ctx, l, "add_one", PipelineOptions{
		Constants:   []Constant{{Index: 1, Type: ConstUint32, Value: 8}, {Index: 2, Type: ConstFloat32, Value: math.Float32bits(0.5)}},
		Threadgroup: Size{64, 1, 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.objs[p.fn].consts; got[1] != 8 || got[2] != math.Float32bits(0.5) {
		t.Errorf("function constants %v", got)
	}
	if p.Threadgroup() != (Size{64, 1, 1}) || p.ThreadExecutionWidth() != 32 || p.MaxTotalThreadsPerThreadgroup() != 1024 {
		t.Errorf("pipeline threadgroup %v, width %d, max %d", p.Threadgroup(), p.ThreadExecutionWidth(), p.MaxTotalThreadsPerThreadgroup())
	}
	if _, err := d.NewPipelineWith(ctx, l, "add_one", PipelineOptions{Constants: []Constant{{Index: 1, Type: ConstInt32, Value: 8}}}); err == nil || !strings.Contains(err.Error(), "function constant 1") {
		t.Errorf("an int value for a uint constant: %v", err)
	}
	for _, bad := range []PipelineOptions{
		{Constants: []Constant{{Index: 1, Type: ConstUint32}, {Index: 1, Type: ConstUint32}}},
		{Constants: []Constant{{Index: -1, Type: ConstUint32}}},
		{Constants: []Constant{{Index: 3, Type: ConstBool, Value: 2}}},
		{Constants: []Constant{{Index: 3}}},
		{Threadgroup: Size{32, 0, 1}},
	} {
		if _, err := d.NewPipelineWith(ctx, l, "add_one", bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
	// A threadgroup above the pipeline's limit: refused, nothing leaked.
	f.maxThreads = 256
	if _, err := d.NewPipelineWith(ctx, l, "twice", PipelineOptions{Threadgroup: Size{512, 1, 1}}); err == nil || !strings.Contains(err.Error(), "256") {
		t.Errorf("512 threads on a 256-thread pipeline: %v", err)
	}
	f.maxThreads = 1024
	// The pipeline keeps its library: releasing the library first is fine.
	f.staticTGMem["twice"] = 128
	q, err := d.NewPipeline(ctx, l, "twice")
	if err != nil {
		t.Fatal(err)
	}
	if q.StaticThreadgroupMemoryLength() != 128 {
		t.Errorf("static threadgroup memory %d, want 128", q.StaticThreadgroupMemoryLength())
	}
	l.Release()
	q.Release()
	p.Release()
	p.Release()
}

func TestFakeCompileErrorsAndWarnings(t *testing.T) {
	f, d := fakeDevice(t)
	f.compileError = "program_source:3:5: error: use of undeclared identifier 'undeclared_thing'"
	_, err := d.NewLibrary(context.Background(), twoKernels)
	if err == nil || !strings.Contains(err.Error(), "undeclared_thing") || !strings.Contains(err.Error(), "MSL 3.0") {
		t.Errorf("compile error: %v", err)
	}
	f.compileError, f.compileWarning = "", "warning: unused variable 'x'"
	l, err := d.NewLibrary(context.Background(), twoKernels)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if l.Warnings() != f.compileWarning {
		t.Errorf("warnings %q", l.Warnings())
	}
}

// kernelsOnHost are the fake GPU's versions of twoKernels.
func kernelsOnHost() map[string]fakeKernel {
	return map[string]fakeKernel{
		"add_one": func(groups, threads Size, buf map[int][]byte, _ map[int]uint32) {
			y, n := viewF32(buf[0]), int(le32(buf[1], 0))
			for i := 0; i < min(n, groups.Width*threads.Width); i++ {
				y[i]++
			}
		},
		"twice": func(groups, threads Size, buf map[int][]byte, _ map[int]uint32) {
			y, x, n := viewF32(buf[0]), viewF32(buf[2]), int(le32(buf[1], 0))
			for i := 0; i < min(n, groups.Width*threads.Width); i++ {
				y[i] = 2 * x[i]
			}
		},
	}
}

func viewF32(b []byte) []float32 {
	v, err := viewBytes[float32](b[:len(b)/4*4])
	if err != nil {
		panic(err)
	}
	return v
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func TestFakeSubmitEncodesOneCommandBuffer(t *testing.T) {
	f, d := fakeDevice(t)
	f.exec = kernelsOnHost()
	ctx := context.Background()
	l, err := d.NewLibrary(ctx, twoKernels)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	addOne, err := d.NewPipelineWith(ctx, l, "add_one", PipelineOptions{Threadgroup: Size{32, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer addOne.Release()
	twice, err := d.NewPipeline(ctx, l, "twice")
	if err != nil {
		t.Fatal(err)
	}
	defer twice.Release()
	q, err := d.NewCommandQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	x, _ := d.NewBufferFrom(AsBytes([]float32{1, 2, 3, 4, 5}))
	y, _ := d.NewBuffer(4 * 5)
	z, _ := d.NewBuffer(4 * 8)
	defer x.Release()
	defer y.Release()
	defer z.Release()

	// y = 2x; y += 1 (reads y: barrier); z[0:5] = y; z[5:8] = 0x3f800000 bytes...;
	// then a barrier right after the blit (dropped: encoders are ordered) and
	// y += 1 again.
	var c Commands
	c.Dispatch(twice, Size{1, 1, 1}, Size{32, 1, 1}, BufferArg(0, y), BufferArg(2, x), BytesArg(1, u32(5)))
	c.Barrier()
	c.Dispatch(addOne, Size{1, 1, 1}, Size{}, BufferArg(0, y), BytesArg(1, u32(5)))
	c.Copy(z, 0, y, 0, 20)
	c.Fill(z, 20, 12, 0x3f)
	c.Barrier()
	c.Dispatch(addOne, Size{1, 1, 1}, Size{}, BufferArg(0, y), BytesArg(1, u32(5)))
	if c.Len() != 7 || c.Dispatches() != 3 {
		t.Errorf("Len %d, Dispatches %d", c.Len(), c.Dispatches())
	}
	tm, err := q.Submit(ctx, &c)
	if err != nil {
		t.Fatal(err)
	}
	if tm.GPU != 2500*time.Microsecond {
		t.Errorf("GPU time %v, want 2.5ms", tm.GPU)
	}
	yv, _ := View[float32](y)
	if !slices.Equal(yv, []float32{4, 6, 8, 10, 12}) {
		t.Errorf("y = %v, want 2x+2", yv)
	}
	zb := z.Contents()
	if zv := viewF32(zb[:20]); !slices.Equal(zv, []float32{3, 5, 7, 9, 11}) || !slices.Equal(zb[20:], slices.Repeat([]byte{0x3f}, 12)) {
		t.Errorf("z = %v / %v", zv, zb[20:])
	}
	want := []string{
		"commandBuffer computeCommandEncoderWithDispatchType: [1]",
		"computeEncoder setComputePipelineState:", "computeEncoder setBuffer:offset:atIndex:", "computeEncoder setBuffer:offset:atIndex:",
		"computeEncoder setBytes:length:atIndex:", "computeEncoder dispatchThreadgroups:threadsPerThreadgroup: [{1 1 1} {32 1 1}]",
		"computeEncoder memoryBarrierWithScope: [1]",
		"computeEncoder setComputePipelineState:", "computeEncoder setBuffer:offset:atIndex:",
		"computeEncoder setBytes:length:atIndex:", "computeEncoder dispatchThreadgroups:threadsPerThreadgroup: [{1 1 1} {32 1 1}]",
		"computeEncoder endEncoding",
		"commandBuffer blitCommandEncoder",
		"blitEncoder copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:", "blitEncoder fillBuffer:range:value:",
		"blitEncoder endEncoding",
		"commandBuffer computeCommandEncoderWithDispatchType: [1]",
		"computeEncoder setComputePipelineState:", "computeEncoder setBuffer:offset:atIndex:",
		"computeEncoder setBytes:length:atIndex:", "computeEncoder dispatchThreadgroups:threadsPerThreadgroup: [{1 1 1} {32 1 1}]",
		"computeEncoder endEncoding",
		"commandBuffer commit", "commandBuffer waitUntilCompleted", "commandBuffer status",
	}
	got := f.messages("commandBuffer", "computeEncoder", "blitEncoder")
	got = slices.DeleteFunc(got, func(s string) bool {
		return strings.Contains(s, "retain") || strings.Contains(s, "release") || strings.Contains(s, "GPU")
	})
	if len(got) != len(want) {
		t.Fatalf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("message %d: %q, want %q", i, got[i], want[i])
		}
	}

	// Serial: the same recording in serial encoders, without barriers.
	f.log = nil
	c.Serial = true
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if n := len(f.messages("computeEncoder memoryBarrier")); n != 0 {
		t.Errorf("%d barriers in serial encoders", n)
	}
	if n := len(f.messages("commandBuffer computeCommandEncoderWithDispatchType: [0]")); n != 2 {
		t.Errorf("%d serial compute encoders, want 2", n)
	}
	// A recording is reusable after Reset.
	c.Reset()
	if c.Len() != 0 {
		t.Error("Reset left commands")
	}
	if _, err := q.Submit(ctx, &c); err == nil {
		t.Error("an empty recording was submitted")
	}
}

func TestFakeSubmitChecksBeforeMetal(t *testing.T) {
	f, d := fakeDevice(t)
	ctx := context.Background()
	l, _ := d.NewLibrary(ctx, twoKernels)
	defer l.Release()
	p, err := d.NewPipelineWith(ctx, l, "add_one", PipelineOptions{Threadgroup: Size{32, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	q, _ := d.NewCommandQueue()
	defer q.Release()
	b, _ := d.NewBuffer(64)
	defer b.Release()
	dead, _ := d.NewBuffer(64)
	dead.Release()
	cases := []struct {
		name string
		rec  func(c *Commands)
		want string
	}{
		{"other threadgroup", func(c *Commands) { c.Dispatch(p, Size{1, 1, 1}, Size{64, 1, 1}, BufferArg(0, b), BytesArg(1, u32(1))) }, "built for"},
		{"unaligned copy", func(c *Commands) { c.Copy(b, 2, b, 32, 8) }, "multiples of 4"},
		{"copy past the end", func(c *Commands) { c.Copy(b, 0, b, 60, 8) }, "outside"},
		{"overlapping copy", func(c *Commands) { c.Copy(b, 0, b, 4, 8) }, "overlap"},
		{"fill of a released buffer", func(c *Commands) { c.Fill(dead, 0, 4, 0) }, "released"},
		{"fill of nothing", func(c *Commands) { c.Fill(b, 0, 0, 0) }, "positive"},
		{"second command bad", func(c *Commands) {
			c.Dispatch(p, Size{1, 1, 1}, Size{}, BufferArg(0, b), BytesArg(1, u32(1)))
			c.Dispatch(nil, Size{1, 1, 1}, Size{32, 1, 1})
		}, "command 1 of 2"},
	}
	for _, tc := range cases {
		f.log = nil
		var c Commands
		tc.rec(&c)
		_, err := q.Submit(ctx, &c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
		if n := len(f.messages("queue commandBuffer")); n != 0 {
			t.Errorf("%s: a command buffer was made before the check failed", tc.name)
		}
	}
	// A cancelled context: nothing is encoded.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f.log = nil
	var c Commands
	c.Dispatch(p, Size{1, 1, 1}, Size{}, BufferArg(0, b), BytesArg(1, u32(1)))
	if _, err := q.Submit(cctx, &c); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled submit: %v", err)
	}
	if len(f.messages("queue commandBuffer")) != 0 {
		t.Error("a cancelled submit reached Metal")
	}
}

func TestFakeGPUErrorIsNamed(t *testing.T) {
	f, d := fakeDevice(t)
	ctx := context.Background()
	l, _ := d.NewLibrary(ctx, twoKernels)
	defer l.Release()
	p, _ := d.NewPipeline(ctx, l, "add_one")
	defer p.Release()
	q, _ := d.NewCommandQueue()
	defer q.Release()
	b, _ := d.NewBuffer(64)
	defer b.Release()
	f.gpuError = 3
	err := q.Dispatch(ctx, p, Size{1, 1, 1}, Size{16, 1, 1}, BufferArg(0, b), BytesArg(1, u32(16)))
	if err == nil || !strings.Contains(err.Error(), "page fault") || !strings.Contains(err.Error(), "kIOGPUCommandBufferCallbackErrorPageFault") ||
		!strings.Contains(err.Error(), "dispatch add_one") {
		t.Errorf("GPU error: %v", err)
	}
}

// TestFakeCancelWhileRunning: a Submit whose context is cancelled while
// the GPU runs returns at once; Drain (and Release) wait for the GPU.
func TestFakeCancelWhileRunning(t *testing.T) {
	f, d := fakeDevice(t)
	ctx, cancel := context.WithCancel(context.Background())
	l, _ := d.NewLibrary(ctx, twoKernels)
	defer l.Release()
	p, _ := d.NewPipeline(ctx, l, "add_one")
	defer p.Release()
	q, _ := d.NewCommandQueue()
	b, _ := d.NewBuffer(64)
	defer b.Release()
	f.block, f.waiting = make(chan struct{}), make(chan struct{}, 1)
	errc := make(chan error)
	go func() {
		errc <- q.Dispatch(ctx, p, Size{1, 1, 1}, Size{16, 1, 1}, BufferArg(0, b), BytesArg(1, u32(16)))
	}()
	<-f.waiting // the command buffer is committed and the host waits for it
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "background") {
		t.Errorf("cancelled while running: %v", err)
	}
	drained := make(chan struct{})
	go func() { q.Drain(); close(drained) }()
	select {
	case <-drained:
		t.Fatal("Drain returned while the GPU was still running")
	case <-time.After(20 * time.Millisecond):
	}
	close(f.block)
	<-drained
	q.Release()
}

// TestFakeReplayPreEncodes: Replay commits the command buffer encoded
// during the previous run, encodes the next one while the GPU works, sees
// inputs the host writes between runs, and drops a spare that no longer
// matches the recording.
func TestFakeReplayPreEncodes(t *testing.T) {
	f, d := fakeDevice(t)
	f.exec = kernelsOnHost()
	ctx := context.Background()
	l, _ := d.NewLibrary(ctx, twoKernels)
	defer l.Release()
	twice, err := d.NewPipeline(ctx, l, "twice")
	if err != nil {
		t.Fatal(err)
	}
	defer twice.Release()
	q, _ := d.NewCommandQueue()
	defer q.Release()
	x, _ := d.NewBufferFrom(AsBytes([]float32{1, 2, 3}))
	y, _ := d.NewBuffer(12)
	defer x.Release()
	defer y.Release()
	var c Commands
	defer c.Release()
	c.Dispatch(twice, Size{1, 1, 1}, Size{32, 1, 1}, BufferArg(0, y), BufferArg(2, x), BytesArg(1, u32(3)))

	buffers := func() int { return len(f.messages("queue commandBuffer")) }
	xv, _ := View[float32](x)
	yv, _ := View[float32](y)
	for step := 1; step <= 3; step++ {
		before := buffers()
		xv[0] = float32(10 * step) // the host's input for this step, written after the spare was encoded
		if _, err := q.Replay(ctx, &c); err != nil {
			t.Fatal(err)
		}
		if yv[0] != float32(20*step) || yv[2] != 6 {
			t.Errorf("step %d: y = %v, want [%d 4 6]", step, yv, 20*step)
		}
		// The first run encodes its own command buffer and the spare;
		// later runs only the next spare.
		if want := map[bool]int{true: 2, false: 1}[step == 1]; buffers()-before != want {
			t.Errorf("step %d: %d command buffers made, want %d", step, buffers()-before, want)
		}
	}
	// The committed spare was encoded before commit: between the last
	// commit and the encoding before it, no other command buffer began.
	log := f.messages("queue commandBuffer", "commandBuffer commit", "commandBuffer waitUntilCompleted")
	if len(log) < 6 || !strings.HasPrefix(log[len(log)-3], "commandBuffer commit") || !strings.HasPrefix(log[len(log)-2], "queue commandBuffer") {
		t.Errorf("replay order (commit, then encode the spare, then wait):\n%s", strings.Join(log, "\n"))
	}

	// A changed recording discards the spare.
	c.Barrier()
	c.Dispatch(twice, Size{1, 1, 1}, Size{32, 1, 1}, BufferArg(0, y), BufferArg(2, x), BytesArg(1, u32(3)))
	before := buffers()
	if _, err := q.Replay(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if buffers()-before != 2 {
		t.Errorf("after a change: %d command buffers made, want 2 (fresh + spare)", buffers()-before)
	}
	// Another queue: the spare of the first is not used there.
	q2, _ := d.NewCommandQueue()
	defer q2.Release()
	before = buffers()
	if _, err := q2.Replay(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if buffers()-before != 2 {
		t.Errorf("on another queue: %d command buffers made, want 2", buffers()-before)
	}
	// Serial changes the encoding: the spare is stale.
	c.Serial = true
	before = buffers()
	if _, err := q2.Replay(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if buffers()-before != 2 || len(f.messages("commandBuffer computeCommandEncoderWithDispatchType: [0]")) == 0 {
		t.Errorf("serial replay did not re-encode")
	}
}
