//go:build darwin

package metal

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
)

// spirv-cross's MSL on the real GPU: the mslbind fixtures compiled and run
// through NewKernel and DispatchKernel with Vulkan-style arguments, the
// results checked on the host. They have never run (no Mac in CI).

func TestKernelOutOfOrderBindingsOnGPU(t *testing.T) {
	d := openDevice(t)
	ctx := context.Background()
	k, err := d.NewKernel(ctx, kernelSource(t, "order"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	q, err := d.NewCommandQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	const n = 1000
	xs, zs := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i], zs[i] = float32(i), float32(1000*i)
	}
	x, z, y := bufferOf(t, d, xs), bufferOf(t, d, zs), bufferOf(t, d, make([]float32, n))
	var c Commands
	err = c.DispatchKernel(k, Size{(n + 63) / 64, 1, 1},
		[]BufferBinding{{0, 0, y, 0}, {0, 1, z, 0}, {0, 2, x, 0}}, binary.LittleEndian.AppendUint32(nil, n))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	yv, _ := View[float32](y)
	for i := range n {
		if yv[i] != xs[i]+zs[i] {
			t.Fatalf("y[%d] = %v, want %v", i, yv[i], xs[i]+zs[i])
		}
	}
}

func TestKernelNamedResourcesOnGPU(t *testing.T) {
	d := openDevice(t)
	ctx := context.Background()
	k, err := d.NewKernel(ctx, kernelSource(t, "named"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	q, err := d.NewCommandQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	// 16×4 threadgroups; i = gid.x + gid.y·stride < n: o[i] = alpha·w[i+offset].
	const stride, rows, n, offset = 32, 8, 200, 5
	ws := make([]float32, stride*rows+offset)
	for i := range ws {
		ws[i] = float32(i)
	}
	w, o := bufferOf(t, d, ws), bufferOf(t, d, make([]float32, stride*rows))
	params := bufferOf(t, d, []uint32{n, stride})
	push := make([]byte, 16)
	binary.LittleEndian.PutUint32(push, offset)
	binary.LittleEndian.PutUint32(push[4:], math.Float32bits(3))
	var c Commands
	err = c.DispatchKernel(k, Size{stride / 16, rows / 4, 1},
		[]BufferBinding{{1, 5, w, 0}, {0, 0, o, 0}, {0, 3, params, 0}}, push)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	ov, _ := View[float32](o)
	for i := range ov {
		want := float32(0)
		if i < n {
			want = 3 * ws[i+offset]
		}
		if ov[i] != want {
			t.Fatalf("o[%d] = %v, want %v", i, ov[i], want)
		}
	}
}

func TestKernelSpecializationOnGPU(t *testing.T) {
	d := openDevice(t)
	ctx := context.Background()
	q, err := d.NewCommandQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	xs := make([]float32, 300)
	for i := range xs {
		xs[i] = float32(i)
	}
	x := bufferOf(t, d, xs)
	for _, c := range []struct {
		spec        map[int]uint32
		n           int
		scale       float32
		threadgroup int
	}{
		{map[int]uint32{0: 8}, 4, 1, 8}, // N and SCALE at their defaults (the threadgroup must hold N threads)
		{map[int]uint32{0: 64, 1: 6, 2: math.Float32bits(0.5)}, 6, 0.5, 64},
		{map[int]uint32{0: 256, 1: 32, 2: math.Float32bits(-2)}, 32, -2, 256},
	} {
		k, err := d.NewKernel(ctx, kernelSource(t, "spec"), c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if k.Threadgroup().Width != c.threadgroup {
			t.Errorf("spec %v: threadgroup %v", c.spec, k.Threadgroup())
		}
		const olen, count = 280, 250
		o := bufferOf(t, d, make([]float32, olen))
		var cmds Commands
		groups := (olen + c.threadgroup - 1) / c.threadgroup
		if err := cmds.DispatchKernel(k, Size{groups, 1, 1}, []BufferBinding{{0, 0, x, 0}, {0, 1, o, 0}}, binary.LittleEndian.AppendUint32(nil, count)); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Submit(ctx, &cmds); err != nil {
			t.Fatal(err)
		}
		ov, _ := View[float32](o)
		s := float32(c.n * (c.n + 1) / 2)
		for i := range ov {
			want := float32(0)
			if i < count {
				want = xs[i]*c.scale + s + olen
			}
			if ov[i] != want {
				t.Fatalf("spec %v: o[%d] = %v, want %v", c.spec, i, ov[i], want)
			}
		}
		k.Release()
	}
}
