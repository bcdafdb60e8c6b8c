package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// refQ8Q16 is the scalar reference of MatVecQ8Q16 for row r of vector v
// (refQ8Acts: exact integer block sums, float64 accumulation; abs the
// scale of the paths' float32 summation error).
func refQ8Q16(w *quant.Matrix, a *Q16Acts, v, r int) (sum, abs float64) {
	return refQ8Acts(w, a.Q, a.Scales, v, r)
}

// TestQuantizeAct16: every value is within half a step (plus the float32
// rounding of x/scale, 2⁻⁹ of a step near 32767) of its quantized value, the block's largest magnitude lands on ±32767, the padding is
// zero, and an all-zero block has scale 0.
func TestQuantizeAct16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{1, 31, 32, 33, 100, 512, 1000} {
		x := randF32(rng, 2*cols)
		for i := range min(cols, 32) {
			x[i] = 0 // first block of vector 0 all zero
		}
		x[cols+cols/2] *= 1e4 // an outlier only moves its own block's scale
		var a Q16Acts
		a.Quantize(x, 2, cols)
		bpr := a.Blocks()
		for v := 0; v < 2; v++ {
			for b := 0; b < bpr; b++ {
				s := a.Scales[v*bpr+b]
				var amax float32
				top := 0
				for c := b * 32; c < b*32+32; c++ {
					q := a.Q[v*bpr*32+c]
					if q < -q16Max {
						t.Fatalf("cols %d: q %d", cols, q)
					}
					if c >= cols {
						if q != 0 {
							t.Fatalf("cols %d: padding %d = %d", cols, c, q)
						}
						continue
					}
					xv := x[v*cols+c]
					amax = max(amax, float32(math.Abs(float64(xv))))
					top = max(top, int(q), -int(q))
					if e := math.Abs(float64(xv) - float64(q)*float64(s)); e > float64(s)*(0.5+0x1p-9)+1e-30 {
						t.Fatalf("cols %d v %d c %d: x %g q %d scale %g: error %g", cols, v, c, xv, q, s, e)
					}
				}
				if s != amax/q16Max {
					t.Fatalf("cols %d block %d: scale %g, want %g", cols, b, s, amax/q16Max)
				}
				if amax > 0 && top != q16Max {
					t.Fatalf("cols %d block %d: largest code %d, want %d", cols, b, top, q16Max)
				}
			}
		}
		if a.Scales[0] != 0 {
			t.Fatalf("zero block scale %g", a.Scales[0])
		}
	}
}

// TestQuantizeAct16Paths: every path quantizes bit for bit as the Go code
// does (the assembly's divisions, rounding and special cases are Go's),
// on ordinary blocks and on blocks of zeros, denormals, huge values,
// infinities and NaNs, with a ragged last block.
func TestQuantizeAct16Paths(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const cols = 32*24 + 13
	x := randF32(rng, cols)
	for i := range 32 {
		x[32+i] = 0
		x[64+i] = math.Float32frombits(uint32(1 + rng.IntN(1<<23))) // denormals
		x[96+i] = float32(rng.NormFloat64()) * 3e38
		x[128+i] = float32(rng.NormFloat64()) * 1e-38
	}
	x[160+5] = float32(math.Inf(1))
	x[192+7] = float32(math.Inf(-1))
	x[224+9] = float32(math.NaN())
	x[256+3] = float32(math.Copysign(0, -1)) // negative zero (the literal -0.0 is +0 in Go)
	x[288] = math.MaxFloat32
	for i := range 31 { // ones under a maximum of 2: x/scale lands near 16383.5, a tie
		x[320+i] = 1
	}
	x[320+31] = 2
	saved := Path()
	defer SetPath(saved)
	var want, got Q16Acts
	if err := SetPath(PathGeneric); err != nil {
		t.Fatal(err)
	}
	want.Quantize(x, 1, cols)
	eachPath(t, func(t *testing.T) {
		got.Quantize(x, 1, cols)
		for i := range want.Q {
			if got.Q[i] != want.Q[i] {
				t.Fatalf("value %d (x %g): q %d, Go %d", i, x[min(i, cols-1)], got.Q[i], want.Q[i])
			}
		}
		for b := range want.Scales {
			if math.Float32bits(got.Scales[b]) != math.Float32bits(want.Scales[b]) {
				t.Fatalf("block %d: scale %g, Go %g", b, got.Scales[b], want.Scales[b])
			}
		}
	})
}

// TestMatVecQ8Q16 checks every path's int8×int16 product against
// refQ8Q16 on random shapes with ragged tails (widths around whole
// 512-column groups, odd block counts, short last blocks), 1..9 vectors
// (the assembly takes 4 per pass), on one core and on a pool; and that a
// vector's result is bit for bit the same alone as among others (a
// batched sequence's tokens do not depend on its neighbours).
func TestMatVecQ8Q16(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		t.Logf("int8×int16 kernels: %s", Q8Q16Path())
		rng := rand.New(rand.NewPCG(1, 2))
		pool := NewPool(2)
		defer pool.Close()
		type shape struct{ rows, cols, n int }
		// The last three read more activations than q8q16TwoRows a pass
		// (two rows a pass on avx512, an odd row left over in two).
		shapes := []shape{{1, 1, 1}, {3, 33, 2}, {5, 512, 1}, {7, 512, 4}, {9, 1024 + 31, 5}, {260, 512 + 64, 3}, {37, 2048, 9}, {301, 2560, 4},
			{7, 4096 + 512 + 33, 4}, {6, 9728, 2}, {33, 8192, 6},
			{301, 2560, 7}} // the last two: row tiles (batchTileRows), odd and even tails
		for range 10 {
			shapes = append(shapes, shape{1 + rng.IntN(70), 1 + rng.IntN(1600), 1 + rng.IntN(9)})
		}
		for _, s := range shapes {
			w := randQ8(rng, s.rows, s.cols)
			x := randF32(rng, s.n*s.cols)
			var a Q16Acts
			a.Quantize(x, s.n, s.cols)
			for _, p := range []*Pool{nil, pool} {
				y := randF32(rng, s.n*s.rows+1) // garbage in: outputs are stored, not added
				sentinel := y[s.n*s.rows]
				p.MatVecQ8Q16(y[:s.n*s.rows], w, &a)
				if y[s.n*s.rows] != sentinel {
					t.Fatalf("%v: wrote past y", s)
				}
				checkQ8Q16(t, fmt.Sprintf("%v pool=%v", s, p != nil), p, w, x, &a, y)
			}
		}
	})
}

// checkQ8Q16 checks y, the product of w with the a.N vectors a quantizes
// from x: every value against refQ8Q16, and each vector's values bit for
// bit against its product alone (on pool p).
func checkQ8Q16(t *testing.T, what string, p *Pool, w *quant.Matrix, x []float32, a *Q16Acts, y []float32) {
	t.Helper()
	var one Q16Acts
	alone := make([]float32, w.Rows)
	for v := 0; v < a.N; v++ {
		one.Quantize(x[v*a.Cols:(v+1)*a.Cols], 1, a.Cols)
		p.MatVecQ8Q16(alone, w, &one)
		for r := 0; r < w.Rows; r++ {
			want, abs := refQ8Q16(w, a, v, r)
			got := float64(y[v*w.Rows+r])
			// float32 summation of bpr terms in some order, plus the
			// reduction of 16 lanes.
			tol := abs*float64(quant.BlocksPerRow(a.Cols)+24)*0x1p-24 + 1e-30
			if math.Abs(got-want) > tol {
				t.Fatalf("%s: y[%d,%d] = %g, want %g (tol %g)", what, v, r, got, want, tol)
			}
			if math.Float32bits(alone[r]) != math.Float32bits(y[v*w.Rows+r]) {
				t.Fatalf("%s: y[%d,%d] = %g among %d vectors, %g alone", what, v, r, y[v*w.Rows+r], a.N, alone[r])
			}
		}
	}
}

// TestMatVecQ8Q16Allocs: a reused Q16Acts quantizes and multiplies
// without allocating (decode's zero-allocation steps).
func TestMatVecQ8Q16Allocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := randQ8(rng, 512, 1024)
	x := randF32(rng, 4*1024)
	y := make([]float32, 4*512)
	pool := NewPool(2)
	defer pool.Close()
	var a Q16Acts
	a.Quantize(x, 4, 1024)
	if n := testing.AllocsPerRun(20, func() {
		a.Quantize(x, 4, 1024)
		pool.MatVecQ8Q16(y, w, &a)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// BenchmarkMatVecQ8Q16 compares the int8×int16 product with the float32
// one (MatVecQ8 / MatVecQ8Each) on the same weights as
// BenchmarkMatVecQ8Q8 does ("vs_f32": the float kernel's best time over
// this kernel's; "vs_f32_q" with the activations' quantization counted;
// "gbps": this kernel's weight bytes per second).
func BenchmarkMatVecQ8Q16(b *testing.B) {
	var a Q16Acts
	benchActs(b, Q8Q16Path(), a.Quantize, func(p *Pool, y []float32, w *quant.Matrix) { p.MatVecQ8Q16(y, w, &a) })
}

// TestMatVecQ8Q16LargeSums: a vector alone (q8q16r1x1Y on the AVX-512
// paths) and among others (the lane-grouped kernels) must add the same
// eight products into each int32 lane, because lanes above 2²⁴ round when
// converted to float32. Weights and activations near their largest codes,
// all one sign, put every lane there; the test first checks that the data
// is sensitive (partitioning a block's columns into lanes differently
// changes the rounded sum), then that every path's vector alone equals
// itself among 3 and the float64 product within the same bound as
// TestMatVecQ8Q16.
func TestMatVecQ8Q16LargeSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, cols, n = 37, 2560, 3
	w := quant.New(rows, cols)
	for i := range w.Q {
		w.Q[i] = int8(100 + rng.IntN(28))
	}
	for i := range w.Scales {
		w.Scales[i] = f16.FromF32(0.01)
	}
	x := make([]float32, n*cols)
	for i := range x {
		x[i] = float32(0.75 + 0.25*rng.Float64())
	}
	var a Q16Acts
	a.Quantize(x, n, cols)
	// Lane-grouped lane j of a block: columns 2j, 2j+1 + 8k (k = 0..3);
	// the other partition: 8 consecutive columns.
	sensitive := 0
	for r := range rows {
		for b := range cols / quant.BlockSize {
			var grouped, consecutive float64
			for j := range 4 {
				var s1, s2 int64
				for k := range 4 {
					for e := range 2 {
						c1, c2 := b*32+2*j+8*k+e, b*32+8*j+2*k+e
						s1 += int64(w.Q[r*cols+c1]) * int64(a.Q[c1])
						s2 += int64(w.Q[r*cols+c2]) * int64(a.Q[c2])
					}
				}
				if s1 < 1<<24 {
					t.Fatalf("row %d block %d lane %d: sum %d is exact in float32; the test needs larger", r, b, j, s1)
				}
				grouped += float64(float32(s1))
				consecutive += float64(float32(s2))
			}
			if grouped != consecutive {
				sensitive++
			}
		}
	}
	if sensitive == 0 {
		t.Fatal("no block's rounded sum depends on the lanes' partition: the test cannot tell kernels apart")
	}
	t.Logf("%d of %d blocks round differently under another partition of their columns", sensitive, rows*cols/quant.BlockSize)
	eachPath(t, func(t *testing.T) {
		y := make([]float32, n*rows)
		MatVecQ8Q16(y, w, &a)
		checkQ8Q16(t, Q8Q16Path(), nil, w, x, &a, y)
	})
}
