package vulkan

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// openTest opens the default device, or skips the test loudly when this
// machine has no Vulkan loader or device.
func openTest(t testing.TB, opts Options) *Device {
	t.Helper()
	d, err := Open(opts)
	if errors.Is(err, gpu.ErrUnavailable) {
		t.Skipf("SKIP: no Vulkan loader or device (%v); install mesa-vulkan-drivers libvulkan1 to run the Vulkan tests on lavapipe", err)
	}
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// addKernel is testdata/add.comp: o = a + b*MUL + c over n floats.
func addKernel(t testing.TB) *gpu.Kernel {
	return &gpu.Kernel{Name: "add", SPIRV: spv(t, "add"), Buffers: 3, PushBytes: 8, Spec: []string{"local_size_x", "MUL"}}
}

// widenKernel is testdata/widen.comp: o = float(q)*float(h) + bias, q int8, h fp16.
func widenKernel(t testing.TB) *gpu.Kernel {
	return &gpu.Kernel{Name: "widen", SPIRV: spv(t, "widen"), Buffers: 3, PushBytes: 8, Spec: []string{"local_size_x"}}
}

func spv(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name + ".spv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func push(n uint32, c float32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, n)
	binary.LittleEndian.PutUint32(b[4:], math.Float32bits(c))
	return b
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bytesf32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func newBuf(t testing.TB, d *Device, size int64) gpu.Buffer {
	t.Helper()
	b, err := d.NewBuffer(size)
	if err != nil {
		t.Fatalf("NewBuffer(%d): %v", size, err)
	}
	t.Cleanup(b.Release)
	return b
}

func writeF32(t testing.TB, b gpu.Buffer, v []float32) {
	t.Helper()
	if err := b.Write(0, f32bytes(v)); err != nil {
		t.Fatal(err)
	}
}

func readF32(t testing.TB, b gpu.Buffer, n int) []float32 {
	t.Helper()
	out := make([]byte, 4*n)
	if err := b.Read(0, out); err != nil {
		t.Fatal(err)
	}
	return bytesf32(out)
}

func pipeline(t testing.TB, d *Device, k *gpu.Kernel, spec ...uint32) gpu.Pipeline {
	t.Helper()
	p, err := d.Pipeline(k, spec)
	if err != nil {
		t.Fatalf("Pipeline(%s, %v): %v", k.Name, spec, err)
	}
	t.Cleanup(p.Release)
	return p
}

func commands(t testing.TB, d *Device) gpu.Commands {
	t.Helper()
	c, err := d.NewCommands()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Release)
	return c
}
