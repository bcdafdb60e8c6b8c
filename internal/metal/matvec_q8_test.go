package metal

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// Tolerances. A float32 sum whose every term passes through at most d
// roundings differs from the exact value by at most γ_d·Σ|terms|,
// γ_d = d·u/(1−d·u), u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical
// Algorithms, §3.1). The exact value is computed in float64 (every term
// q·x·scale is exact there and the sums of a few thousand such terms lose
// far less than a float32 ulp), each side is bounded by the depth of its
// own summation, and the two sides may differ by the sum of their bounds.
// Dropping, doubling or mis-scaling any one term of a row exceeds them.

const unit = 1.0 / (1 << 24)

func gamma(d int) float64 { return float64(d) * unit / (1 - float64(d)*unit) }

// refDepth is MatVecQ8Reference's (and the kernel's) rounding depth: up to
// 32 fma steps within a block, one fma per block a lane owns, five
// butterfly additions.
func refDepth(cols int) int {
	return quant.BlockSize + (quant.BlocksPerRow(cols)+SIMDWidth-1)/SIMDWidth + 5
}

// cpuDepth bounds kernels.MatVecQ8 (the bound its own tests use): up to 32
// within a block, a product and a scale rounding, one addition per block,
// and a few for tails and lane folds.
func cpuDepth(cols int) int { return quant.BlockSize + 2 + quant.BlocksPerRow(cols) + 8 }

// exactRow returns Σ q·x·scale for row r in float64 and Σ|q·x·scale|.
func exactRow(w *quant.Matrix, x []float32, r int) (sum, abs float64) {
	bpr := w.BlocksPerRow()
	for i := 0; i < w.Cols; i++ {
		t := float64(w.Q[r*w.Cols+i]) * float64(x[i]) * float64(f16.ToF32(w.Scales[r*bpr+i/quant.BlockSize]))
		sum += t
		abs += math.Abs(t)
	}
	return sum, abs
}

func randMatrix(rng *rand.Rand, rows, cols int) *quant.Matrix {
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	m, err := quant.Quantize(w, rows, cols)
	if err != nil {
		panic(err)
	}
	return m
}

func randVector(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// Shapes with ragged last blocks, rows fewer than a threadgroup, rows not a
// multiple of MatVecQ8RowsPerGroup, and rows with more blocks than lanes
// (so lanes own two or three blocks, some one fewer than others).
var refShapes = [][2]int{
	{1, 1}, {1, 31}, {3, 32}, {5, 33}, {7, 64}, {4, 100}, {9, 1023},
	{6, 1024}, {13, 1056}, {2, 2080}, {17, 2049}, {3, 3100},
}

func TestMatVecQ8ReferenceMatchesCPU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range refShapes {
		rows, cols := sh[0], sh[1]
		w := randMatrix(rng, rows, cols)
		x := randVector(rng, cols)
		ref := make([]float32, rows)
		cpu := make([]float32, rows)
		if err := MatVecQ8Reference(ref, w, x); err != nil {
			t.Fatalf("[%d, %d]: %v", rows, cols, err)
		}
		kernels.MatVecQ8(cpu, w, x)
		for r := range rows {
			exact, abs := exactRow(w, x, r)
			refTol, cpuTol := gamma(refDepth(cols))*abs, gamma(cpuDepth(cols))*abs
			if d := math.Abs(float64(ref[r]) - exact); d > refTol {
				t.Errorf("[%d, %d] row %d: reference %g, exact %g: off by %g > %g", rows, cols, r, ref[r], exact, d, refTol)
			}
			if d := math.Abs(float64(ref[r]) - float64(cpu[r])); d > refTol+cpuTol {
				t.Errorf("[%d, %d] row %d: reference %g, kernels.MatVecQ8 %g: off by %g > %g",
					rows, cols, r, ref[r], cpu[r], d, refTol+cpuTol)
			}
		}
	}
}

// With small integer inputs and power-of-two scales every operation is
// exact, so the reference must equal the exact sum bit for bit: any
// indexing slip (a wrong block, lane or tail bound) shows, with no
// tolerance to hide in.
func TestMatVecQ8ReferenceExactArithmetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pow2 := []uint16{f16.FromF32(0.25), f16.FromF32(0.5), f16.FromF32(1), f16.FromF32(2), f16.FromF32(-1), 0}
	for _, sh := range refShapes {
		rows, cols := sh[0], sh[1]
		w := quant.New(rows, cols)
		for i := range w.Q {
			w.Q[i] = int8(rng.IntN(255) - 127)
		}
		for i := range w.Scales {
			w.Scales[i] = pow2[rng.IntN(len(pow2))]
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.IntN(9) - 4)
		}
		ref := make([]float32, rows)
		cpu := make([]float32, rows)
		if err := MatVecQ8Reference(ref, w, x); err != nil {
			t.Fatal(err)
		}
		kernels.MatVecQ8(cpu, w, x)
		for r := range rows {
			exact, _ := exactRow(w, x, r)
			if float64(ref[r]) != exact || cpu[r] != ref[r] {
				t.Errorf("[%d, %d] row %d: reference %v, kernels.MatVecQ8 %v, exact %v", rows, cols, r, ref[r], cpu[r], exact)
			}
		}
	}
}

func TestMatVecQ8ReferenceErrors(t *testing.T) {
	w := quant.New(2, 40)
	cases := []struct {
		name string
		y    []float32
		w    *quant.Matrix
		x    []float32
		want string
	}{
		{"nil matrix", make([]float32, 2), nil, make([]float32, 40), "nil weight matrix"},
		{"short x", make([]float32, 2), w, make([]float32, 39), "x 39"},
		{"long y", make([]float32, 3), w, make([]float32, 40), "y 3"},
		{"bad scales", make([]float32, 2), &quant.Matrix{Rows: 2, Cols: 40, Q: make([]int8, 80), Scales: make([]uint16, 3)}, make([]float32, 40), "scales"},
	}
	for _, c := range cases {
		err := MatVecQ8Reference(c.y, c.w, c.x)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}

// fma32 must be a correctly rounded float32 fma (what Metal's fma is),
// including the cases where rounding the float64 sum first would land on a
// float32 tie: (1+2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴ is exactly halfway between two
// float32 values, and a tiny c decides the direction.
func TestFMA32CorrectlyRounded(t *testing.T) {
	a := float32(1 + 1.0/4096)
	tiny := float32(math.Ldexp(1, -80))
	lo := float32(1 + 1.0/2048)
	hi := math.Nextafter32(lo, 2)
	for _, c := range []struct {
		c, want float32
	}{{tiny, hi}, {-tiny, lo}, {0, lo}} { // 0: an exact tie, to even (lo)
		if got := fma32(a, a, c.c); got != c.want {
			t.Errorf("fma32(%v, %v, %v) = %v, want %v", a, a, c.c, got, c.want)
		}
		if got := exactFMA32(a, a, c.c); got != c.want {
			t.Fatalf("the big.Float oracle itself gives %v for c = %v, want %v", got, c.c, c.want)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200000; i++ {
		a := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(20)-10))
		b := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(20)-10))
		c := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)-20))
		if i%4 == 0 {
			c = -float32(float64(a) * float64(b)) // heavy cancellation
		}
		if got, want := fma32(a, b, c), exactFMA32(a, b, c); got != want {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", a, b, c, got, want)
		}
	}
}

// exactFMA32 rounds a·b + c computed exactly once to float32 (nearest, ties
// to even).
func exactFMA32(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(400).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(400).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(400).SetFloat64(float64(c)))
	f, _ := x.Float32()
	return f
}

func TestMatVecQ8Params(t *testing.T) {
	b, err := MatVecQ8Params(151936, 2561)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != MatVecQ8ParamsSize {
		t.Fatalf("%d bytes, want %d", len(b), MatVecQ8ParamsSize)
	}
	got := [3]uint32{binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])}
	if want := [3]uint32{151936, 2561, 81}; got != want {
		t.Errorf("params %v, want %v", got, want)
	}
	for _, sh := range [][2]int{{0, 4}, {4, 0}, {-1, 4}, {1 << 33, 4}} {
		if _, err := MatVecQ8Params(sh[0], sh[1]); err == nil {
			t.Errorf("MatVecQ8Params(%d, %d) accepted", sh[0], sh[1])
		}
	}
}

func TestMatVecQ8Grid(t *testing.T) {
	for _, c := range []struct{ rows, groups int }{{1, 1}, {4, 1}, {5, 2}, {8, 2}, {151936, 37984}} {
		g, th := MatVecQ8Grid(c.rows)
		if g != (Size{c.groups, 1, 1}) || th != (Size{SIMDWidth * MatVecQ8RowsPerGroup, 1, 1}) {
			t.Errorf("rows %d: grid %v × %v, want %d groups of %d threads", c.rows, g, th, c.groups, SIMDWidth*MatVecQ8RowsPerGroup)
		}
		// Every row has a SIMD-group and no threadgroup is wholly idle.
		if g.Width*MatVecQ8RowsPerGroup < c.rows || (g.Width-1)*MatVecQ8RowsPerGroup >= c.rows {
			t.Errorf("rows %d: %d groups do not cover the rows tightly", c.rows, g.Width)
		}
	}
}

// fakeBuffer is a Buffer as darwin would make it, for checks that never
// reach Metal.
func fakeBuffer(n int) *Buffer { return &Buffer{id: 1, contents: make([]byte, n)} }

func TestMatVecQ8Args(t *testing.T) {
	const rows, cols = 5, 40 // two blocks per row, the second ragged
	y, q, s, x := fakeBuffer(4*rows), fakeBuffer(rows*cols), fakeBuffer(2*rows*2), fakeBuffer(4*cols)
	args, g, th, err := MatVecQ8Args(y, q, s, x, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	if g != (Size{2, 1, 1}) || th.Width != 128 {
		t.Errorf("grid %v × %v", g, th)
	}
	want := map[int]*Buffer{MatVecQ8ArgQ: q, MatVecQ8ArgScales: s, MatVecQ8ArgX: x, MatVecQ8ArgY: y}
	for _, a := range args {
		if a.Index == MatVecQ8ArgParams {
			if p, _ := MatVecQ8Params(rows, cols); string(a.Bytes) != string(p) {
				t.Errorf("params bytes %v, want %v", a.Bytes, p)
			}
			continue
		}
		if want[a.Index] != a.Buffer {
			t.Errorf("argument %d bound to the wrong buffer", a.Index)
		}
		delete(want, a.Index)
	}
	if len(want) != 0 || len(args) != 5 {
		t.Errorf("%d arguments, unbound: %v", len(args), want)
	}
	pipe := &Pipeline{id: 1, name: KernelMatVecQ8, maxThreads: 1024, simdWidth: 32}
	if err := checkDispatch(pipe, g, th, args); err != nil {
		t.Errorf("the arguments MatVecQ8Args builds fail the dispatch check: %v", err)
	}

	short := []struct {
		name       string
		y, q, s, x *Buffer
	}{
		{"y", fakeBuffer(4*rows - 1), q, s, x},
		{"q", y, fakeBuffer(rows*cols - 1), s, x},
		{"scales", y, q, fakeBuffer(2*rows*2 - 1), x},
		{"x", y, q, s, fakeBuffer(4*cols - 1)},
		{"x", y, q, s, nil},
	}
	for _, c := range short {
		if _, _, _, err := MatVecQ8Args(c.y, c.q, c.s, c.x, rows, cols); err == nil || !strings.Contains(err.Error(), c.name+" buffer") {
			t.Errorf("short %s buffer: got %v", c.name, err)
		}
	}
}
