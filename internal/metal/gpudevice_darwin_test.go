//go:build darwin

package metal

import (
	"context"
	"errors"
	"testing"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// The gpu.Device on a real Metal GPU (never run in CI; make apple-check
// runs it). The engine's own kernel tests and golden ladder run on it too,
// from internal/gpu with VLMRT_GPU_TEST_DEVICE=metal.

func realGPU(t *testing.T) gpu.Device {
	t.Helper()
	dev, err := OpenDevice()
	if errors.Is(err, gpu.ErrUnavailable) {
		t.Skipf("no Metal device on this machine: %v", err)
	}
	if err != nil {
		t.Fatalf("OpenDevice: %v", err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Logf("%+v", dev.Info())
	return dev
}

// TestEngineKernelsCompileOnMetal compiles every engine kernel's MSL, as
// the device specializes it, at the workgroup sizes the engine uses.
func TestEngineKernelsCompileOnMetal(t *testing.T) {
	dev := realGPU(t)
	for _, name := range gpu.KernelNames {
		k, err := gpu.LoadKernel(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, lx := range []uint32{64, 256} {
			spec := make([]uint32, len(k.Spec))
			spec[0] = lx
			for i := 1; i < len(spec); i++ {
				spec[i] = 1
			}
			p, err := dev.Pipeline(k, spec)
			if err != nil {
				t.Errorf("%s LX=%d: %v", name, lx, err)
				continue
			}
			p.Release()
		}
	}
}

// TestGPUDeviceAddOnMetal: y += x twice with a barrier, replayed, then the
// copy mode, on the GPU.
func TestGPUDeviceAddOnMetal(t *testing.T) {
	dev := realGPU(t)
	k, err := gpu.LoadKernel("add")
	if err != nil {
		t.Fatal(err)
	}
	add, err := dev.Pipeline(k, []uint32{64, 0})
	if err != nil {
		t.Fatal(err)
	}
	defer add.Release()
	const n = 1000
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i) * 0.25
	}
	tok, x, y := newBuf(t, dev, u32bytes(0)), newBuf(t, dev, f32bytes(xs)), newBuf(t, dev, make([]byte, 4*n))
	c, err := dev.NewCommands()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	push := u32bytes(n, 0, 0, 0, 0)
	for range 2 {
		if err := c.Dispatch(add, [3]uint32{(n + 63) / 64, 1, 1}, push, tok, x, y); err != nil {
			t.Fatal(err)
		}
		c.Barrier()
	}
	for run := 1; run <= 3; run++ {
		if err := c.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := readF32(t, y, n)
		for i := range got {
			if want := float32(2*run) * xs[i]; got[i] != want {
				t.Fatalf("run %d: y[%d] = %v, want %v", run, i, got[i], want)
			}
		}
	}
}
