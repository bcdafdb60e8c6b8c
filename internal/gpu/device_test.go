package gpu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/metal"
	"github.com/vlmrt/vlmrt/internal/vulkan"
)

// The GPU tests run on whatever Vulkan device the machine has: lavapipe
// (Mesa's CPU driver) in CI. Without a Vulkan loader they skip, loudly.
// VLMRT_GPU_TEST_DEVICE=metal runs them on the Metal device instead (on a
// Mac: make apple-check); vulkan, the default, can be named too.

var (
	devOnce sync.Once
	dev     gpu.Device
	devErr  error
)

func device(t testing.TB) gpu.Device {
	t.Helper()
	which := os.Getenv("VLMRT_GPU_TEST_DEVICE")
	devOnce.Do(func() { dev, devErr = openTestDevice(which) })
	if devErr != nil {
		if errors.Is(devErr, gpu.ErrUnavailable) {
			if which == "metal" {
				t.Skipf("SKIP: no Metal device (%v)", devErr)
			}
			t.Skipf("SKIP: no Vulkan device (%v); install mesa-vulkan-drivers libvulkan1 to run the GPU tests", devErr)
		}
		t.Fatal(devErr)
	}
	return dev
}

// openTestDevice opens the device VLMRT_GPU_TEST_DEVICE names.
func openTestDevice(which string) (gpu.Device, error) {
	switch which {
	case "", "vulkan":
		d, err := vulkan.Open(vulkan.Options{})
		if err != nil {
			return nil, err
		}
		return d, nil
	case "metal":
		return metal.OpenDevice()
	}
	return nil, fmt.Errorf("VLMRT_GPU_TEST_DEVICE=%q: want vulkan or metal", which)
}

func opsModel(t testing.TB) *gpu.Model {
	t.Helper()
	m, err := gpu.OpsModel(device(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func upload(t testing.TB, m *gpu.Model, v []float32) gpu.Buffer {
	t.Helper()
	b, err := m.UploadF32(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func read(t testing.TB, b gpu.Buffer, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	if err := b.Read(0, unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n)); err != nil {
		t.Fatal(err)
	}
	return out
}

func readInts(t testing.TB, b gpu.Buffer, n int) []int32 {
	t.Helper()
	out := make([]int32, n)
	if err := b.Read(0, unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n)); err != nil {
		t.Fatal(err)
	}
	return out
}

func ints(t testing.TB, m *gpu.Model, v []int32) gpu.Buffer {
	t.Helper()
	b, err := m.UploadBytes(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func record(t testing.TB, m *gpu.Model, fn func(r *gpu.Recorder)) {
	t.Helper()
	if _, err := m.Rec(fn); err != nil {
		t.Fatal(err)
	}
}

func randVec(rng *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (rng.Float32()*2 - 1) * scale
	}
	return v
}

// compare reports cosine similarity and max error of got against want,
// failing when the max error exceeds tol relative to want's largest value
// (at least 1: these values feed sums where absolute error is what counts;
// a GPU's exp is allowed a few ulps more than the host's, which shows as
// relative error only where a result is tiny, e.g. GELU's negative tail).
func compare(t testing.TB, what string, got, want []float32, tol float64) {
	t.Helper()
	var dot, gg, ww, maxErr, maxAbs float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		dot += g * w
		gg += g * g
		ww += w * w
		maxErr = max(maxErr, math.Abs(g-w))
		maxAbs = max(maxAbs, math.Abs(w))
	}
	cos := dot / math.Sqrt(gg*ww)
	if gg == 0 && ww == 0 {
		cos = 1
	}
	t.Logf("%s: cosine %.9f, max error %.3g (max |want| %.3g)", what, cos, maxErr, maxAbs)
	if !(maxErr <= tol*max(maxAbs, 1)) || math.IsNaN(cos) {
		t.Errorf("%s: max error %.3g exceeds %.3g × %.3g (cosine %.9f)", what, maxErr, tol, maxAbs, cos)
	}
}
