package metal

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Kernels from SPIR-V and spirv-cross MSL (the mslbind fixtures), run on
// the fake runtime: the fake GPU executes each MSL kernel as written — it
// reads the [[buffer(n)]] indices of the .metal file, not Vulkan's
// bindings — so a wrong binding map shows as a wrong result.

func kernelSource(t *testing.T, name string) KernelSource {
	t.Helper()
	spv, err := os.ReadFile(filepath.Join("mslbind", "testdata", name+".spv"))
	if err != nil {
		t.Fatal(err)
	}
	msl, err := os.ReadFile(filepath.Join("mslbind", "testdata", name+".metal"))
	if err != nil {
		t.Fatal(err)
	}
	return KernelSource{Name: name, SPIRV: spv, MSL: string(msl)}
}

// orderMSL is mslbind/testdata/order.metal's main0 on the host:
// buffer(0) the push constants {uint n}, buffer(1) y (binding 0),
// buffer(2) x (binding 2), buffer(3) z (binding 1); y[i] = x[i] + z[i].
func orderMSL(groups, threads Size, buf map[int][]byte, _ map[int]uint32) {
	n := int(le32(buf[0], 0))
	y, x, z := viewF32(buf[1]), viewF32(buf[2]), viewF32(buf[3])
	for i := 0; i < min(n, groups.Width*threads.Width); i++ {
		y[i] = x[i] + z[i]
	}
}

func TestFakeKernelBindingsReachTheRightArguments(t *testing.T) {
	f, d := fakeDevice(t)
	f.exec["main0"] = orderMSL
	ctx := context.Background()
	k, err := d.NewKernel(ctx, kernelSource(t, "order"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	if k.Threadgroup() != (Size{64, 1, 1}) || k.Pipeline().Name() != "main0" {
		t.Errorf("threadgroup %v, function %q", k.Threadgroup(), k.Pipeline().Name())
	}
	q, _ := d.NewCommandQueue()
	defer q.Release()
	const n = 100
	xs, zs := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i], zs[i] = float32(i), float32(1000*i)
	}
	x, _ := d.NewBufferFrom(AsBytes(xs))
	z, _ := d.NewBufferFrom(AsBytes(zs))
	y, _ := d.NewBuffer(4 * n)
	unused, _ := d.NewBuffer(4)
	for _, b := range []*Buffer{x, y, z, unused} {
		defer b.Release()
	}
	var c Commands
	err = c.DispatchKernel(k, Size{2, 1, 1}, []BufferBinding{
		{Set: 0, Binding: 0, Buffer: y}, {Set: 0, Binding: 1, Buffer: z}, {Set: 0, Binding: 2, Buffer: x},
		{Set: 3, Binding: 9, Buffer: unused}, // not the kernel's: ignored
	}, binary.LittleEndian.AppendUint32(nil, n))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	yv, _ := View[float32](y)
	for i := range n {
		if yv[i] != xs[i]+zs[i] {
			t.Fatalf("y[%d] = %v, want x+z = %v (a binding went to the wrong [[buffer(n)]])", i, yv[i], xs[i]+zs[i])
		}
	}

	// What DispatchKernel refuses before recording anything.
	for _, bad := range []struct {
		name string
		bufs []BufferBinding
		push []byte
		want string
	}{
		{"a binding missing", []BufferBinding{{0, 0, y, 0}, {0, 2, x, 0}}, u32(n), "no buffer for set 0 binding 1"},
		{"a binding twice", []BufferBinding{{0, 0, y, 0}, {0, 0, y, 0}, {0, 1, z, 0}, {0, 2, x, 0}}, u32(n), "twice"},
		{"short push constants", []BufferBinding{{0, 0, y, 0}, {0, 1, z, 0}, {0, 2, x, 0}}, []byte{1, 2}, "push constants"},
		{"a nil buffer", []BufferBinding{{0, 0, nil, 0}, {0, 1, z, 0}, {0, 2, x, 0}}, u32(n), "nil buffer"},
	} {
		var c Commands
		if err := c.DispatchKernel(k, Size{1, 1, 1}, bad.bufs, bad.push); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want an error mentioning %q", bad.name, err, bad.want)
		}
		if c.Len() != 0 {
			t.Errorf("%s: recorded despite the error", bad.name)
		}
	}
}

func TestFakeKernelSpecialization(t *testing.T) {
	f, d := fakeDevice(t)
	ctx := context.Background()
	f.staticTGMem["main0"] = 128 // float[32]
	// matvec.comp: local_size_x_id = 0 and ROWS_PER_GROUP (SpecId 1), both
	// function constants in the MSL.
	k, err := d.NewKernel(ctx, kernelSource(t, "matvec"), map[int]uint32{0: 128, 1: 4})
	if err != nil {
		t.Fatal(err)
	}
	if k.Threadgroup() != (Size{128, 1, 1}) || k.Pipeline().Threadgroup() != (Size{128, 1, 1}) {
		t.Errorf("threadgroup %v, want the specialized 128", k.Threadgroup())
	}
	if got := f.objs[k.Pipeline().fn].consts; got[0] != 128 || got[1] != 4 {
		t.Errorf("function constants %v, want 0:128 1:4", got)
	}
	k.Release()
	if _, err := d.NewKernel(ctx, kernelSource(t, "matvec"), map[int]uint32{7: 1}); err == nil || !strings.Contains(err.Error(), "constant 7") {
		t.Errorf("an undeclared spec constant: %v", err)
	}
	f.staticTGMem["main0"] = 64
	if _, err := d.NewKernel(ctx, kernelSource(t, "matvec"), nil); err == nil || !strings.Contains(err.Error(), "threadgroup memory") {
		t.Errorf("a pipeline with less threadgroup memory than the SPIR-V declares: %v", err)
	}
}

// TestFakeKernelMacrosAndBufferSizes: shared.comp's array size becomes a
// macro defined before compiling, and its .length() makes the dispatch
// carry the bound buffers' sizes at spvBufferSizeConstants.
func TestFakeKernelMacrosAndBufferSizes(t *testing.T) {
	f, d := fakeDevice(t)
	ctx := context.Background()
	var sizes []byte
	f.exec["main0"] = func(_, _ Size, buf map[int][]byte, consts map[int]uint32) {
		sizes = slices.Clone(buf[25])
		if consts[1] != math.Float32bits(0.5) {
			t.Errorf("EPS function constant %#x", consts[1])
		}
	}
	k, err := d.NewKernel(ctx, kernelSource(t, "shared"), map[int]uint32{0: 5, 1: math.Float32bits(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	var lib *fakeObj
	for _, o := range f.objs {
		if o.kind == "library" {
			lib = o
		}
	}
	if lib == nil || !strings.HasPrefix(lib.source, "#define SPIRV_CROSS_CONSTANT_ID_0 5\n") {
		t.Errorf("the library was not compiled with the array-size constant defined first")
	}
	q, _ := d.NewCommandQueue()
	defer q.Release()
	y, _ := d.NewBuffer(4 * 300)
	u, _ := d.NewBuffer(64)
	defer y.Release()
	defer u.Release()
	var c Commands
	if err := c.DispatchKernel(k, Size{1, 1, 1}, []BufferBinding{{0, 0, y, 16}, {0, 1, u, 0}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	// buffer(0) is the uniform block (binding 1), buffer(1) y (binding 0)
	// from offset 16.
	if len(sizes) != 8 || le32(sizes, 0) != 64 || le32(sizes, 4) != 4*300-16 {
		t.Errorf("buffer sizes %v, want [64, %d]", sizes, 4*300-16)
	}
}

// specMSL is mslbind/testdata/spec.metal's main0 on the host, with the
// array size N the test compiles it with: buffer(0) {uint count},
// buffer(1) o (binding 1), buffer(2) x (binding 0), buffer(25) the sizes;
// o[i] = fma(x[i], SCALE, 1+…+N) + len(o).
func specMSL(n int) fakeKernel {
	return func(groups, threads Size, buf map[int][]byte, consts map[int]uint32) {
		count := int(le32(buf[0], 0))
		o, x := viewF32(buf[1]), viewF32(buf[2])
		olen := int(le32(buf[25], 4)) / 4
		scale := math.Float32frombits(consts[2])
		s := float32(n * (n + 1) / 2)
		for i := 0; i < groups.Width*threads.Width; i++ {
			if i < count && i < olen {
				o[i] = x[i]*scale + s + float32(olen)
			}
		}
	}
}

func TestFakeKernelEverySpecializationRoute(t *testing.T) {
	f, d := fakeDevice(t)
	f.exec["main0"] = specMSL(6)
	f.staticTGMem["main0"] = 24
	ctx := context.Background()
	k, err := d.NewKernel(ctx, kernelSource(t, "spec"), map[int]uint32{0: 64, 1: 6, 2: math.Float32bits(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	if k.Threadgroup() != (Size{64, 1, 1}) {
		t.Errorf("threadgroup %v", k.Threadgroup())
	}
	q, _ := d.NewCommandQueue()
	defer q.Release()
	xs := make([]float32, 100)
	for i := range xs {
		xs[i] = float32(i)
	}
	x, _ := d.NewBufferFrom(AsBytes(xs))
	o, _ := d.NewBuffer(4 * 90)
	defer x.Release()
	defer o.Release()
	var c Commands
	if err := c.DispatchKernel(k, Size{2, 1, 1}, []BufferBinding{{0, 0, x, 0}, {0, 1, o, 0}}, u32(80)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Submit(ctx, &c); err != nil {
		t.Fatal(err)
	}
	ov, _ := View[float32](o)
	for i := range ov {
		want := float32(0)
		if i < 80 {
			want = xs[i]*0.5 + 21 + 90
		}
		if ov[i] != want {
			t.Fatalf("o[%d] = %v, want %v", i, ov[i], want)
		}
	}
}

// TestFakeKernelLibrariesAreShared: kernels that differ only in function
// constants share one compile, also when built concurrently; a different
// macro value is a different source and compiles again.
func TestFakeKernelLibrariesAreShared(t *testing.T) {
	f, d := fakeDevice(t)
	f.staticTGMem["main0"] = 1 << 10
	ctx := context.Background()
	compiles := func() int { return len(f.messages("device newLibraryWithSource")) }
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	kernels := make(chan *Kernel, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := d.NewKernel(ctx, kernelSource(t, "matvec"), map[int]uint32{0: uint32(32 * (i + 1)), 1: 4})
			errs <- err
			kernels <- k
		}()
	}
	wg.Wait()
	close(errs)
	close(kernels)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range kernels {
		k.Release()
	}
	if n := compiles(); n != 1 {
		t.Errorf("8 specializations by function constants compiled %d libraries, want 1", n)
	}
	f.staticTGMem["main0"] = 64
	for _, n := range []uint32{5, 6, 5} {
		k, err := d.NewKernel(ctx, kernelSource(t, "spec"), map[int]uint32{0: 64, 1: n})
		if err != nil {
			t.Fatal(err)
		}
		k.Release()
	}
	if n := compiles(); n != 3 {
		t.Errorf("array sizes 5, 6, 5 compiled %d libraries in all, want 3 (1 + 2)", n)
	}
	// A failed compile is not kept.
	f.compileError = "error: broken"
	if _, err := d.NewKernel(ctx, kernelSource(t, "order"), nil); err == nil {
		t.Fatal("a failing compile succeeded")
	}
	f.compileError = ""
	k, err := d.NewKernel(ctx, kernelSource(t, "order"), nil)
	if err != nil {
		t.Fatalf("the compile after a failure: %v", err)
	}
	k.Release()
}
