//go:build darwin

package metal

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// These tests need a Mac with a Metal GPU; they have never run in CI (see
// README.md). Each skips only when Open reports ErrUnavailable.

func openDevice(t *testing.T) *Device {
	t.Helper()
	d, err := Open()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no Metal device on this machine: %v", err)
	}
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(d.Release)
	t.Logf("device %q, recommended working set %.1f GiB, max buffer %.1f GiB, threadgroup memory %d KiB, unified memory %v",
		d.Name(), float64(d.RecommendedMaxWorkingSetSize())/(1<<30), float64(d.MaxBufferLength())/(1<<30),
		d.MaxThreadgroupMemoryLength()>>10, d.HasUnifiedMemory())
	if d.Name() == "" || d.RecommendedMaxWorkingSetSize() == 0 || d.MaxBufferLength() == 0 {
		t.Errorf("device properties missing: name %q, working set %d, max buffer %d",
			d.Name(), d.RecommendedMaxWorkingSetSize(), d.MaxBufferLength())
	}
	return d
}

// testSource is a small library for the tests that need a pipeline.
const testSource = `#include <metal_stdlib>
using namespace metal;
kernel void scale_k(device float* y [[buffer(0)]], constant float& a [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    y[i] *= a;
}
`

const testKernel = "scale_k"

func compileKernel(t *testing.T, d *Device, name string) *Pipeline {
	t.Helper()
	ctx := context.Background()
	lib, err := d.NewLibrary(ctx, testSource)
	if err != nil {
		t.Fatalf("compile testSource: %v", err)
	}
	defer lib.Release() // the pipeline keeps what it needs
	if w := lib.Warnings(); w != "" {
		t.Errorf("testSource compiles with warnings:\n%s", w)
	}
	p, err := d.NewPipeline(ctx, lib, name)
	if err != nil {
		t.Fatalf("pipeline %s: %v", name, err)
	}
	t.Cleanup(p.Release)
	return p
}

func bufferOf[T Scalar](t *testing.T, d *Device, s []T) *Buffer {
	t.Helper()
	b, err := d.NewBufferFrom(AsBytes(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Release)
	return b
}

func TestLibraryLanguageVersion(t *testing.T) {
	d := openDevice(t)
	src := "#include <metal_stdlib>\n#if __METAL_VERSION__ != 300\n#error compiled as the wrong MSL version\n#endif\nkernel void k(device float* y [[buffer(0)]]) { y[0] = 1.0f; }\n"
	lib, err := d.NewLibrary(context.Background(), src)
	if err != nil {
		t.Fatalf("MSL 3.0 check: %v", err)
	}
	lib.Release()
}

func TestLibraryCompileErrorText(t *testing.T) {
	d := openDevice(t)
	_, err := d.NewLibrary(context.Background(), "#include <metal_stdlib>\nkernel void k(device float* y [[buffer(0)]]) { y[0] = undeclared_thing; }\n")
	if err == nil || !strings.Contains(err.Error(), "undeclared_thing") {
		t.Fatalf("got %v, want the compiler's message naming undeclared_thing", err)
	}
	t.Logf("compile error as reported: %v", err)
}

func TestPipelineUnknownFunction(t *testing.T) {
	d := openDevice(t)
	lib, err := d.NewLibrary(context.Background(), testSource)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Release()
	_, err = d.NewPipeline(context.Background(), lib, "no_such_kernel")
	if err == nil || !strings.Contains(err.Error(), "no_such_kernel") || !strings.Contains(err.Error(), testKernel) {
		t.Fatalf("got %v, want an error naming no_such_kernel and listing %s", err, testKernel)
	}
}

func TestBuffersCopyAndRelease(t *testing.T) {
	d := openDevice(t)
	src := []byte{1, 2, 3, 4}
	b, err := d.NewBufferFrom(src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 9
	if got := b.Contents(); len(got) != 4 || got[0] != 1 || got[3] != 4 {
		t.Errorf("buffer holds %v, want a copy [1 2 3 4]", got)
	}
	b.Release()
	b.Release()
	if b.Len() != 0 {
		t.Error("a released buffer still has contents")
	}
	z, err := d.NewBuffer(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Release()
	for i, v := range z.Contents() {
		if v != 0 {
			t.Fatalf("NewBuffer byte %d is %d, want zero", i, v)
		}
	}
	s, a, err := d.NewRopeShiftBuffers(211, 182)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	defer a.Release()
	if s.Len() != StaticScalarBytes || a.Len() != StaticScalarBytes || s.Contents()[0] != 211 || a.Contents()[0] != 182 {
		t.Errorf("rope shift buffers %v / %v", s.Contents()[:4], a.Contents()[:4])
	}
}

func TestDispatchChecksBeforeMetal(t *testing.T) {
	d := openDevice(t)
	p := compileKernel(t, d, testKernel)
	q, err := d.NewCommandQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	y := bufferOf(t, d, make([]float32, 4))
	if err := q.Dispatch(ctx, p, Size{1, 1, 1}, Size{128, 1, 1}, BufferArg(0, y)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dispatch: %v", err)
	}
	if err := q.Dispatch(context.Background(), p, Size{1, 1, 1}, Size{p.MaxTotalThreadsPerThreadgroup() + 1, 1, 1}); err == nil {
		t.Error("a threadgroup above the pipeline's limit was dispatched")
	}
}
