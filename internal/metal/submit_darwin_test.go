//go:build darwin

package metal

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// The device features the GPU backend relies on, on a real GPU. Like the
// rest of gpu_darwin_test.go they have never run in CI.

const chainSource = `#include <metal_stdlib>
using namespace metal;
constant uint STEP_tmp [[function_constant(0)]];
constant uint STEP = is_function_constant_defined(STEP_tmp) ? STEP_tmp : 1u;
kernel void add_step(device uint* y [[buffer(0)]], constant uint& n [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    if (i < n) y[i] += STEP;
}
kernel void shift_left(device uint* y [[buffer(0)]], const device uint* x [[buffer(2)]], constant uint& n [[buffer(1)]],
                       uint i [[thread_position_in_grid]]) {
    threadgroup uint scratch[64];
    scratch[i % 64] = (i + 1 < n) ? x[i + 1] : 0u;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (i < n) y[i] = scratch[i % 64];
}
`

// TestSubmitChainWithBarriers: 64 dependent dispatches in one command
// buffer, each adding STEP (a function constant) to every element, with a
// barrier between them; then a blit copy and a fill. A missing barrier
// (or a concurrent encoder that overlaps dispatches anyway) shows as a
// short count.
func TestSubmitChainWithBarriers(t *testing.T) {
	d := openDevice(t)
	ctx := context.Background()
	lib, err := d.NewLibraryVersion(ctx, chainSource, MSL3_1)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Release()
	add, err := d.NewPipelineWith(ctx, lib, "add_step", PipelineOptions{
		Constants: []Constant{{Index: 0, Type: ConstUint32, Value: 3}}, Threadgroup: Size{256, 1, 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer add.Release()
	shift, err := d.NewPipelineWith(ctx, lib, "shift_left", PipelineOptions{Threadgroup: Size{64, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer shift.Release()
	if shift.StaticThreadgroupMemoryLength() < 256 {
		t.Errorf("shift_left declares 256 bytes of threadgroup memory, the pipeline reports %d", shift.StaticThreadgroupMemoryLength())
	}
	q, err := d.NewCommandQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	const n = 1 << 20
	y := bufferOf(t, d, make([]uint32, n))
	z := bufferOf(t, d, make([]uint32, n+16))
	nb := AsBytes([]uint32{n})
	for _, serial := range []bool{false, true} {
		clear(y.Contents())
		c := Commands{Serial: serial}
		for range 64 {
			c.Dispatch(add, Size{n / 256, 1, 1}, Size{}, BufferArg(0, y), BytesArg(1, nb))
			c.Barrier()
		}
		c.Copy(z, 0, y, 0, 4*n)
		c.Fill(z, 4*n, 64, 0xff)
		tm, err := q.Submit(ctx, &c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("serial %v: 64 dispatches + copy + fill in one command buffer: GPU %v", serial, tm.GPU)
		yv, _ := View[uint32](y)
		zv, _ := View[uint32](z)
		if i := slices.IndexFunc(yv, func(v uint32) bool { return v != 64*3 }); i >= 0 {
			t.Errorf("serial %v: y[%d] = %d, want %d (a barrier is missing)", serial, i, yv[i], 64*3)
		}
		if !slices.Equal(zv[:n], yv) || zv[n] != math.MaxUint32 || zv[n+15] != math.MaxUint32 {
			t.Errorf("serial %v: copy/fill wrong: z[0] %d, z[n] %#x", serial, zv[0], zv[n])
		}
	}
	// Replay: the same recording three times, the next command buffer
	// encoded while the GPU runs the current one.
	clear(y.Contents())
	var rc Commands
	defer rc.Release()
	for range 8 {
		rc.Dispatch(add, Size{n / 256, 1, 1}, Size{}, BufferArg(0, y), BytesArg(1, nb))
		rc.Barrier()
	}
	for run := 1; run <= 3; run++ {
		tm, err := q.Replay(ctx, &rc)
		if err != nil {
			t.Fatal(err)
		}
		yv, _ := View[uint32](y)
		if yv[0] != uint32(run*8*3) || yv[n-1] != uint32(run*8*3) {
			t.Errorf("replay %d: y[0] = %d, y[n-1] = %d, want %d", run, yv[0], yv[n-1], run*8*3)
		}
		t.Logf("replay %d: GPU %v", run, tm.GPU)
	}

	// threadgroup memory and a second binding index.
	x := bufferOf(t, d, []uint32{1, 2, 3, 4, 5, 6, 7, 8})
	out := bufferOf(t, d, make([]uint32, 64))
	var c Commands
	c.Dispatch(shift, Size{1, 1, 1}, Size{}, BufferArg(0, out), BufferArg(2, x), BytesArg(1, AsBytes([]uint32{8})))
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if ov, _ := View[uint32](out); !slices.Equal(ov[:8], []uint32{2, 3, 4, 5, 6, 7, 8, 0}) {
		t.Errorf("shift_left = %v", ov[:8])
	}
}

// TestNoCopyBufferOverAFileMapping wraps a read-only mmap of a file, the
// way weights are wrapped, and reads it on the GPU at an offset.
func TestNoCopyBufferOverAFileMapping(t *testing.T) {
	d := openDevice(t)
	ctx := context.Background()
	page := PageSize()
	t.Logf("page size %d", page)
	vals := make([]uint32, (2*page+400)/4)
	for i := range vals {
		vals[i] = uint32(i*7 + 1)
	}
	path := filepath.Join(t.TempDir(), "weights.bin")
	if err := os.WriteFile(path, AsBytes(vals), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	mem, err := syscall.Mmap(int(fd.Fd()), 0, 3*page, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	w, err := d.NewBufferNoCopy(mem)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := d.NewLibrary(ctx, chainSource)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Release()
	shift, err := d.NewPipelineWith(ctx, lib, "shift_left", PipelineOptions{Threadgroup: Size{64, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer shift.Release()
	q, err := d.NewCommandQueue()
	if err != nil {
		t.Fatal(err)
	}
	out := bufferOf(t, d, make([]uint32, 64))
	var c Commands
	off := page + 64 // a tensor inside the mapping
	c.Dispatch(shift, Size{1, 1, 1}, Size{}, BufferArg(0, out), Arg{Index: 2, Buffer: w, Offset: off}, BytesArg(1, AsBytes([]uint32{64})))
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	ov, _ := View[uint32](out)
	for i := 0; i < 63; i++ {
		if want := vals[off/4+i+1]; ov[i] != want {
			t.Fatalf("out[%d] = %d, want %d from the mapped file", i, ov[i], want)
		}
	}
	q.Release() // drains
	w.Release()
}
