package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// refQ8Q8 is the scalar reference of MatVecQ8Q8 for row r of vector v:
// the exact integer block sums in int64, each times the float32 product of
// the two block scales (as every path forms it), added in float64; abs is
// Σ|terms|, the scale of the paths' float32 summation error.
func refQ8Q8(w *quant.Matrix, a *Q8Acts, v, r int) (sum, abs float64) {
	return refQ8Acts(w, a.Q, a.Scales, v, r)
}

// refQ8Acts is refQ8Q8 and refQ8Q16 on the codes xq and scales xs of
// vector v.
func refQ8Acts[T int8 | int16](w *quant.Matrix, xq []T, xs []float32, v, r int) (sum, abs float64) {
	bpr := w.BlocksPerRow()
	for b := 0; b < bpr; b++ {
		var is, ia int64
		for c := b * 32; c < min(b*32+32, w.Cols); c++ {
			p := int64(w.Q[r*w.Cols+c]) * int64(xq[v*bpr*32+c])
			is += p
			ia += max(p, -p)
		}
		d := f16.ToF32(w.Scales[r*bpr+b]) * xs[v*bpr+b]
		sum += float64(is) * float64(d)
		// Σ|products|, not |Σ|: the lane-grouped int16 kernels convert
		// partial sums of a block, whose rounding scales with them.
		abs += float64(ia) * math.Abs(float64(d))
	}
	return sum, abs
}

// TestQuantizeAct: every value is within half a step of its quantized
// value, |q| ≤ 127 with the block's largest magnitude at ±127, the padding
// zero, and an all-zero block has scale 0.
func TestQuantizeAct(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{1, 31, 32, 33, 100, 512, 1000} {
		x := randF32(rng, 2*cols)
		for i := range min(cols, 32) {
			x[i] = 0 // first block of vector 0 all zero
		}
		var a Q8Acts
		a.Quantize(x, 2, cols)
		bpr := a.Blocks()
		for v := 0; v < 2; v++ {
			for b := 0; b < bpr; b++ {
				s := a.Scales[v*bpr+b]
				var amax float32
				for c := b * 32; c < b*32+32; c++ {
					q := a.Q[v*bpr*32+c]
					if q < -127 {
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
					if e := math.Abs(float64(xv) - float64(q)*float64(s)); e > float64(s)*0.5001+1e-30 {
						t.Fatalf("cols %d v %d c %d: x %g q %d scale %g: error %g", cols, v, c, xv, q, s, e)
					}
				}
				if s != amax/127 {
					t.Fatalf("cols %d block %d: scale %g, want %g", cols, b, s, amax/127)
				}
			}
		}
		if a.Scales[0] != 0 {
			t.Fatalf("zero block scale %g", a.Scales[0])
		}
	}
}

// TestMatVecQ8Q8 checks every path's int8×int8 product against refQ8Q8 on
// random shapes with ragged tails (widths around whole 512-column groups,
// odd block counts, short last blocks), 1..9 vectors (the assembly takes 4
// per pass), on one core and on a pool.
func TestMatVecQ8Q8(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		t.Logf("int8×int8 kernels: %s", Q8Q8Path())
		rng := rand.New(rand.NewPCG(1, 2))
		pool := NewPool(2)
		defer pool.Close()
		type shape struct{ rows, cols, n int }
		shapes := []shape{{1, 1, 1}, {3, 33, 2}, {5, 512, 1}, {7, 512, 4}, {9, 1024 + 31, 5}, {260, 512 + 64, 3}, {37, 2048, 9},
			{33, 8192, 6}, {301, 2560, 7}} // the last two: row tiles (batchTileRows)
		for range 10 {
			shapes = append(shapes, shape{1 + rng.IntN(70), 1 + rng.IntN(1600), 1 + rng.IntN(9)})
		}
		for _, s := range shapes {
			w := randQ8(rng, s.rows, s.cols)
			x := randF32(rng, s.n*s.cols)
			var a Q8Acts
			a.Quantize(x, s.n, s.cols)
			for _, p := range []*Pool{nil, pool} {
				y := randF32(rng, s.n*s.rows+1) // garbage in: outputs are stored, not added
				sentinel := y[s.n*s.rows]
				p.MatVecQ8Q8(y[:s.n*s.rows], w, &a)
				if y[s.n*s.rows] != sentinel {
					t.Fatalf("%v: wrote past y", s)
				}
				for v := 0; v < s.n; v++ {
					for r := 0; r < s.rows; r++ {
						want, abs := refQ8Q8(w, &a, v, r)
						got := float64(y[v*s.rows+r])
						// float32 summation of bpr terms in some order,
						// plus the reduction of 16 lanes.
						tol := abs*float64(quant.BlocksPerRow(s.cols)+24)*0x1p-24 + 1e-30
						if math.Abs(got-want) > tol {
							t.Fatalf("%v pool=%v: y[%d,%d] = %g, want %g (tol %g)", s, p != nil, v, r, got, want, tol)
						}
					}
				}
			}
		}
	})
}

// TestMatVecQ8Q8Allocs: a reused Q8Acts quantizes and multiplies without
// allocating (decode's zero-allocation steps).
func TestMatVecQ8Q8Allocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := randQ8(rng, 512, 1024)
	x := randF32(rng, 4*1024)
	y := make([]float32, 4*512)
	pool := NewPool(2)
	defer pool.Close()
	var a Q8Acts
	a.Quantize(x, 4, 1024)
	if n := testing.AllocsPerRun(20, func() {
		a.Quantize(x, 4, 1024)
		pool.MatVecQ8Q8(y, w, &a)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// BenchmarkMatVecQ8Q8 compares the int8×int8 product with the default
// float32-activation one (MatVecQ8 / MatVecQ8Each) on the same weights,
// alternating the quantization, the int8 kernel and the float kernel
// within each iteration and keeping each one's best time, so a noisy
// shared machine slows them alike. "vs_f32" is the float kernel's best
// time over the int8 kernel's, "vs_f32_q" the same with the activations'
// quantization (Go, on the caller) counted, "gbps" the int8 kernel's
// weight bytes per second. Cases: one core with the weights in cache (the
// compute ceiling) and the pool with the 4B's gate/up matrix (25 MB).
func BenchmarkMatVecQ8Q8(b *testing.B) {
	var a Q8Acts
	benchActs(b, Q8Q8Path(), a.Quantize, func(p *Pool, y []float32, w *quant.Matrix) { p.MatVecQ8Q8(y, w, &a) })
}

// benchActs times a quantized-activation product (quantize, then product
// on the quantized vectors) against the float one on batchBenchCases, for
// BenchmarkMatVecQ8Q8 and BenchmarkMatVecQ8Q16.
func benchActs(b *testing.B, path string, quantize func(x []float32, n, cols int), product func(p *Pool, y []float32, w *quant.Matrix)) {
	for _, c := range batchBenchCases {
		w := benchQ8(c.rows, c.cols)
		x := randF32(rand.New(rand.NewPCG(1, 1)), 8*c.cols)
		y := make([]float32, 8*c.rows)
		for _, n := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s/%s/n=%d", c.name, path, n), func(b *testing.B) {
				quant, q, f32 := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					quantize(x, n, c.cols)
					t1 := time.Now()
					product(c.pool, y[:n*c.rows], w)
					t2 := time.Now()
					if n == 1 {
						c.pool.MatVecQ8(y[:c.rows], w, x[:c.cols])
					} else {
						c.pool.MatVecQ8Each(y[:n*c.rows], w, x[:n*c.cols], n)
					}
					quant, q, f32 = min(quant, t1.Sub(t0)), min(q, t2.Sub(t1)), min(f32, time.Since(t2))
				}
				b.ReportMetric(float64(f32)/float64(q), "vs_f32")
				b.ReportMetric(float64(f32)/float64(q+quant), "vs_f32_q")
				b.ReportMetric(float64(w.Bytes())/q.Seconds()/1e9, "gbps")
			})
		}
	}
}
