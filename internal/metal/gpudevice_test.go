package metal

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// The gpu.Device on the fake Objective-C runtime: the very code that runs
// on a Mac (OpenDevice down to objc_msgSend), with the fake answering the
// messages, checking reference counts, pools, encoder state and that every
// [[buffer(n)]] of a dispatched kernel is bound, and running the engine's
// kernels through Go stand-ins.

// fakeGPU opens the Metal gpu.Device on a fresh fake runtime; the device
// is closed before the fake checks for leaks.
func fakeGPU(t *testing.T) (*fakeRuntime, gpu.Device) {
	t.Helper()
	f := installFake(t)
	dev, err := OpenDevice()
	if err != nil {
		t.Fatalf("OpenDevice on the fake runtime: %v", err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f, dev
}

func kernel(t *testing.T, name string) *gpu.Kernel {
	t.Helper()
	k, err := gpu.LoadKernel(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func u32bytes(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func newBuf(t *testing.T, dev gpu.Device, data []byte) gpu.Buffer {
	t.Helper()
	b, err := dev.NewBuffer(int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Release)
	if err := b.Write(0, data); err != nil {
		t.Fatal(err)
	}
	return b
}

func readF32(t *testing.T, b gpu.Buffer, n int) []float32 {
	t.Helper()
	raw := make([]byte, 4*n)
	if err := b.Read(0, raw); err != nil {
		t.Fatal(err)
	}
	return viewF32(raw)
}

func TestGPUDeviceInfo(t *testing.T) {
	_, dev := fakeGPU(t)
	info := dev.Info()
	want := gpu.DeviceInfo{
		API: "metal", Name: "Fake M4 Max", Type: "integrated", Driver: "Metal (MSL 3.0)",
		MemoryBytes: 48 << 30, SubgroupSize: 32, MaxWorkgroupSize: 1024, MaxSharedBytes: 32 << 10,
		MaxBufferBytes: 32 << 30, UnifiedMemory: true,
	}
	if info != want {
		t.Errorf("Info() = %+v\nwant     %+v", info, want)
	}
}

func TestGPUDeviceBuffers(t *testing.T) {
	f, dev := fakeGPU(t)
	b, err := dev.NewBuffer(10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != 10 {
		t.Errorf("Size %d", b.Size())
	}
	got := make([]byte, 10)
	if err := b.Read(0, got); err != nil || string(got) != string(make([]byte, 10)) {
		t.Errorf("a new buffer reads %v, %v; want zeros (Metal does not zero, the device must)", got, err)
	}
	if err := b.Write(3, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := b.Read(2, got[:5]); err != nil || string(got[:5]) != "\x00\x01\x02\x03\x00" {
		t.Errorf("read back %v, %v", got[:5], err)
	}
	for _, c := range []struct {
		off int64
		n   int
	}{{-1, 1}, {8, 3}, {11, 0}} {
		if err := b.Write(c.off, make([]byte, c.n)); err == nil {
			t.Errorf("Write of %d bytes at %d accepted", c.n, c.off)
		}
		if err := b.Read(c.off, make([]byte, c.n)); err == nil {
			t.Errorf("Read of %d bytes at %d accepted", c.n, c.off)
		}
	}
	if n := len(f.messages("device newBufferWithLength:options: [12 0]")); n != 1 {
		t.Errorf("10 bytes allocated as %d 12-byte shared buffers, want 1 (rounded to words, storage mode shared): %v", n, f.messages("device newBuffer"))
	}
	b.Release()
	b.Release()
	if err := b.Write(0, []byte{1}); !errors.Is(err, errReleased) {
		t.Errorf("Write after Release: %v", err)
	}
	if err := b.Read(0, got[:1]); !errors.Is(err, errReleased) {
		t.Errorf("Read after Release: %v", err)
	}
	z, err := dev.NewBuffer(0)
	if err != nil {
		t.Fatalf("an empty buffer: %v", err)
	}
	z.Release()
	if _, err := dev.NewBuffer(-1); err == nil {
		t.Error("negative size accepted")
	}
	if _, err := dev.NewBuffer(33 << 30); err == nil {
		t.Error("a buffer above maxBufferLength accepted")
	}
}

// addStandIn runs the engine's add kernel (MODE 0: y += x, MODE 2: y = x)
// on the host with the bindings Metal would give it: [[buffer(0..2)]] the
// storage buffers, [[buffer(3)]] the push constants.
func addStandIn(t *testing.T) fakeKernel {
	return func(groups, threads Size, buf map[int][]byte, consts map[int]uint32) {
		push := buf[3]
		if len(push) != 20 {
			t.Errorf("add: %d bytes of push constants at [[buffer(3)]], want 20", len(push))
			return
		}
		count, xOff, yOff := le32(push, 0), le32(push, 4), le32(push, 8)
		if threads != (Size{int(consts[0]), 1, 1}) {
			t.Errorf("add: threadgroup %v, want %d × 1 × 1 (spec[0])", threads, consts[0])
		}
		if uint32(groups.Width*threads.Width) < count {
			t.Errorf("add: %v groups of %v do not cover %d values", groups, threads, count)
		}
		x, y := viewF32(buf[1]), viewF32(buf[2])
		for d := uint32(0); d < count; d++ {
			switch consts[1] {
			case 0:
				y[yOff+d] += x[xOff+d]
			case 2:
				y[yOff+d] = x[xOff+d]
			}
		}
	}
}

// TestGPUDeviceRecordsAndReplays: a recorded add, barrier, add; run twice.
// The message sequence is Metal's: one command buffer per Run, one
// concurrent compute encoder, the pipeline, [[buffer(0..2)]] and the push
// constants by setBytes at [[buffer(3)]], a barrier over buffers between
// the dispatches, threadgroups of spec[0] threads, commit, one wait.
func TestGPUDeviceRecordsAndReplays(t *testing.T) {
	f, dev := fakeGPU(t)
	f.exec["add_main"] = addStandIn(t)
	k := kernel(t, "add")
	p, err := dev.Pipeline(k, []uint32{64, 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	if p.Kernel() != k {
		t.Error("Pipeline.Kernel is not the kernel it was built from")
	}
	const n = 100
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i) + 0.5
	}
	tok, x, y := newBuf(t, dev, u32bytes(0)), newBuf(t, dev, f32bytes(xs)), newBuf(t, dev, f32bytes(make([]float32, n)))
	c, err := dev.NewCommands()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	push := u32bytes(n, 0, 0, 0, 0)
	if err := c.Dispatch(p, [3]uint32{2, 1, 1}, push, tok, x, y); err != nil {
		t.Fatal(err)
	}
	push[0] = 0xff // recorded push constants are a copy
	c.Barrier()
	if err := c.Dispatch(p, [3]uint32{2, 1, 1}, u32bytes(n, 0, 0, 0, 0), tok, x, y); err != nil {
		t.Fatal(err)
	}
	before := len(f.messages())
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := readF32(t, y, n)
	for i := range got {
		if got[i] != 2*xs[i] {
			t.Fatalf("after one Run y[%d] = %v, want %v", i, got[i], 2*xs[i])
		}
	}
	first := f.messages()[before:]
	var kinds []string
	for _, m := range first {
		kinds = append(kinds, strings.Fields(m)[0]+" "+strings.Fields(m)[1])
	}
	seq := strings.Join(kinds, "\n")
	for _, want := range []string{
		"queue commandBuffer",
		"commandBuffer computeCommandEncoderWithDispatchType:",
		"computeEncoder setComputePipelineState:",
		"computeEncoder setBuffer:offset:atIndex:",
		"computeEncoder setBytes:length:atIndex:",
		"computeEncoder dispatchThreadgroups:threadsPerThreadgroup:",
		"computeEncoder memoryBarrierWithScope:",
		"computeEncoder endEncoding",
		"commandBuffer commit",
		"commandBuffer waitUntilCompleted",
	} {
		if !strings.Contains(seq, want) {
			t.Errorf("Run sent no %q; it sent:\n%s", want, seq)
		}
	}
	// The first command buffer's messages, up to its commit (Run then
	// encodes the next run's command buffer while the GPU works).
	committed := untilCommit(first)
	for _, m := range filter(committed, "computeEncoder setBytes") {
		if !strings.HasSuffix(m, " 20 3]") {
			t.Errorf("push constants %q: want 20 bytes at index 3 (Kernel.Buffers)", m)
		}
	}
	for _, m := range filter(committed, "computeEncoder dispatchThreadgroups") {
		if !strings.Contains(m, "[{2 1 1} {64 1 1}]") {
			t.Errorf("dispatch %q: want 2×1×1 threadgroups of 64×1×1", m)
		}
	}
	if n := len(filter(committed, "computeEncoder memoryBarrierWithScope: [1]")); n != 1 {
		t.Errorf("%d buffer-scope barriers encoded, want 1", n)
	}
	if n := len(filter(committed, "commandBuffer computeCommandEncoderWithDispatchType: [1]")); n != 1 {
		t.Errorf("%d concurrent encoders in the first Run, want 1", n)
	}
	if n := len(filter(first, "commandBuffer commit")); n != 1 {
		t.Errorf("%d commits in the first Run", n)
	}

	// Replayed: the command buffer encoded during the first Run is
	// committed; the values come from the buffers as they are now.
	if err := x.Write(0, f32bytes(make([]float32, n))); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = readF32(t, y, n)
	for i := range got {
		if got[i] != 2*xs[i] {
			t.Fatalf("after replays with x = 0, y[%d] = %v, want %v", i, got[i], 2*xs[i])
		}
	}
	if n := len(f.messages("commandBuffer commit")); n != 3 {
		t.Errorf("%d commits for 3 Runs", n)
	}
	// Recorded lists are replayed, not extended.
	if err := c.Dispatch(p, [3]uint32{1, 1, 1}, u32bytes(n, 0, 0, 0, 0), tok, x, y); err == nil {
		t.Error("Dispatch after Run accepted")
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Dispatch(p, [3]uint32{2, 1, 1}, u32bytes(n, 0, 0, 0, 0), tok, y, y); err != nil {
		t.Fatalf("Dispatch after Reset: %v", err)
	}
	c.Barrier()
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got = readF32(t, y, n); got[3] != 4*xs[3] {
		t.Errorf("after Reset and y += y: y[3] = %v, want %v", got[3], 4*xs[3])
	}
	c.Barrier() // after Run: reported by the next Run
	if err := c.Run(context.Background()); err == nil {
		t.Error("Run after a Barrier recorded after Run succeeded")
	}
}

// TestGPUDeviceSpecializations: the MSL compiled is the kernel's with a
// #define per specialization constant and no function constants, as MSL
// 3.0 in safe math (the fake refuses a compile without an explicit
// version); each distinct specialization is compiled once.
func TestGPUDeviceSpecializations(t *testing.T) {
	f, dev := fakeGPU(t)
	f.exec["add_main"] = addStandIn(t)
	k := kernel(t, "add")
	var ps []gpu.Pipeline
	for _, spec := range [][]uint32{{64, 0}, {64, 2}, {64, 0}, {128, 2}} {
		p, err := dev.Pipeline(k, spec)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	defer func() {
		for _, p := range ps {
			p.Release()
		}
	}()
	libs := f.messages("device newLibraryWithSource")
	if len(libs) != 3 {
		t.Errorf("4 pipelines of 3 specializations compiled %d libraries, want 3", len(libs))
	}
	f.mu.Lock()
	var sources []string
	for _, o := range f.objs {
		if o.kind == "library" {
			sources = append(sources, o.source)
			if o.version != uint64(MSL3_0) {
				t.Errorf("library compiled as MSL %v, want 3.0", MSLVersion(o.version))
			}
		}
	}
	f.mu.Unlock()
	for _, src := range sources {
		if !strings.HasPrefix(src, "// add specialized by vlmrt's Metal device: LX=") || strings.Contains(src, "function_constant") {
			t.Errorf("compiled source does not start with the specialization or keeps function constants:\n%.300s", src)
		}
		if !strings.Contains(src, "#define SPIRV_CROSS_CONSTANT_ID_0 ") || !strings.Contains(src, "#define SPIRV_CROSS_CONSTANT_ID_1 ") {
			t.Errorf("compiled source lacks a #define per constant:\n%.300s", src)
		}
	}
	// MODE 2 (copy) really reaches the kernel: y = x.
	xs := []float32{1, 2, 3}
	tok, x, y := newBuf(t, dev, u32bytes(0)), newBuf(t, dev, f32bytes(xs)), newBuf(t, dev, f32bytes([]float32{9, 9, 9}))
	c, _ := dev.NewCommands()
	defer c.Release()
	if err := c.Dispatch(ps[3], [3]uint32{1, 1, 1}, u32bytes(3, 0, 0, 0, 0), tok, x, y); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readF32(t, y, 3); got[0] != 1 || got[2] != 3 {
		t.Errorf("MODE 2 gave %v, want a copy of %v", got, xs)
	}
}

// TestGPUDeviceEveryEngineKernel builds every kernel of the engine and
// dispatches it with the described number of buffers and push bytes; the
// fake refuses a dispatch that leaves a [[buffer(n)]] of the compiled
// kernel unbound.
func TestGPUDeviceEveryEngineKernel(t *testing.T) {
	f, dev := fakeGPU(t)
	c, err := dev.NewCommands()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	buf := newBuf(t, dev, make([]byte, 64))
	for _, name := range gpu.KernelNames {
		k := kernel(t, name)
		spec := make([]uint32, len(k.Spec))
		spec[0] = 64
		for i := 1; i < len(spec); i++ {
			spec[i] = 1
		}
		p, err := dev.Pipeline(k, spec)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		defer p.Release()
		bufs := make([]gpu.Buffer, k.Buffers)
		for i := range bufs {
			bufs[i] = buf
		}
		if err := c.Dispatch(p, [3]uint32{1, 1, 1}, make([]byte, k.PushBytes), bufs...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		c.Barrier()
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(filter(untilCommit(f.messages()), "computeEncoder dispatchThreadgroups")); n != len(gpu.KernelNames) {
		t.Errorf("%d dispatches encoded, want %d", n, len(gpu.KernelNames))
	}
}

// TestGPUDeviceRefusals: misuse is an error before any Metal call.
func TestGPUDeviceRefusals(t *testing.T) {
	f, dev := fakeGPU(t)
	k := kernel(t, "add")
	if _, err := dev.Pipeline(nil, nil); err == nil {
		t.Error("nil kernel accepted")
	}
	for _, spec := range [][]uint32{nil, {64}, {64, 0, 0}, {0, 0}, {2048, 0}} {
		if _, err := dev.Pipeline(k, spec); err == nil {
			t.Errorf("spec %v accepted", spec)
		}
	}
	noEntry := *k
	noEntry.Name = "sub" // the MSL has add_main, not sub_main
	if _, err := dev.Pipeline(&noEntry, []uint32{64, 0}); err == nil || !strings.Contains(err.Error(), "sub_main") || !strings.Contains(err.Error(), "add_main") {
		t.Errorf("a kernel without its entry point: %v (want the missing name and the library's functions)", err)
	}
	f.compileError = "program_source:42:7: error: use of undeclared identifier 'LX'"
	if _, err := dev.Pipeline(k, []uint32{32, 0}); err == nil || !strings.Contains(err.Error(), "undeclared identifier 'LX'") {
		t.Errorf("compile error: %v (want the compiler's text)", err)
	}
	f.compileError = ""

	p, err := dev.Pipeline(k, []uint32{64, 0})
	if err != nil {
		t.Fatal(err)
	}
	a, b := newBuf(t, dev, make([]byte, 16)), newBuf(t, dev, make([]byte, 16))
	c, _ := dev.NewCommands()
	push := make([]byte, 20)
	other, err := OpenDevice() // a second device on the same fake
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.NewBuffer(16)
	cases := map[string]func() error{
		"push bytes":     func() error { return c.Dispatch(p, [3]uint32{1, 1, 1}, push[:16], a, a, b) },
		"buffer count":   func() error { return c.Dispatch(p, [3]uint32{1, 1, 1}, push, a, b) },
		"zero groups":    func() error { return c.Dispatch(p, [3]uint32{1, 0, 1}, push, a, a, b) },
		"nil buffer":     func() error { return c.Dispatch(p, [3]uint32{1, 1, 1}, push, a, nil, b) },
		"foreign buffer": func() error { return c.Dispatch(p, [3]uint32{1, 1, 1}, push, a, foreign, b) },
		"nil pipeline":   func() error { return c.Dispatch(nil, [3]uint32{1, 1, 1}, push, a, a, b) },
	}
	for name, call := range cases {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	foreign.Release()
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	// Released after recording: Run refuses, naming it.
	if err := c.Dispatch(p, [3]uint32{1, 1, 1}, push, a, a, b); err != nil {
		t.Fatal(err)
	}
	b.Release()
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "released") {
		t.Errorf("Run with a released buffer: %v", err)
	}
	if err := c.Dispatch(p, [3]uint32{1, 1, 1}, push, a, a, b); !errors.Is(err, errReleased) {
		t.Errorf("Dispatch of a released buffer: %v", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Dispatch(p, [3]uint32{1, 1, 1}, push, a, a, a); err != nil {
		t.Fatal(err)
	}
	p.Release()
	p.Release()
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "pipeline add was released") {
		t.Errorf("Run with a released pipeline: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	commits := len(f.messages("commandBuffer commit"))
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	c.Barrier()
	if err := c.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v", err)
	}
	if len(f.messages("commandBuffer commit")) != commits {
		t.Error("a cancelled Run committed a command buffer")
	}
	// Close refuses while anything is alive; the cleanup closes it after.
	if err := dev.Close(); err == nil || !strings.Contains(err.Error(), "1 command lists") {
		t.Errorf("Close with a live command list: %v", err)
	}
	c.Release()
	c.Release()
	if err := c.Run(context.Background()); !errors.Is(err, errReleased) {
		t.Errorf("Run after Release: %v", err)
	}
}

// TestGPUDeviceReleaseOrder: buffers released while a Commands still holds
// a command buffer encoded ahead (Replay's spare), then the Commands, then
// the device: no message to a freed object, nothing leaked, and after
// Close the device makes nothing.
func TestGPUDeviceReleaseOrder(t *testing.T) {
	f := installFake(t)
	dev, err := OpenDevice()
	if err != nil {
		t.Fatal(err)
	}
	f.exec["add_main"] = addStandIn(t)
	p, err := dev.Pipeline(kernel(t, "add"), []uint32{64, 0})
	if err != nil {
		t.Fatal(err)
	}
	var bufs []gpu.Buffer
	for range 3 {
		b, err := dev.NewBuffer(256)
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
	}
	c, _ := dev.NewCommands()
	if err := c.Dispatch(p, [3]uint32{1, 1, 1}, u32bytes(64, 0, 0, 0, 0), bufs...); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, b := range bufs {
		b.Release()
	}
	p.Release()
	c.Release()
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dev.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := dev.NewBuffer(4); err == nil {
		t.Error("NewBuffer after Close succeeded")
	}
	if _, err := dev.NewCommands(); err == nil {
		t.Error("NewCommands after Close succeeded")
	}
	// installFake's cleanup fails the test on a leak or a use after free.
}

func untilCommit(msgs []string) []string {
	for i, m := range msgs {
		if strings.HasPrefix(m, "commandBuffer commit") {
			return msgs[:i+1]
		}
	}
	return msgs
}

func filter(msgs []string, prefix string) []string {
	var out []string
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			out = append(out, m)
		}
	}
	return out
}
