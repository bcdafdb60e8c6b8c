package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/internal/quant"
)

// TestMatMulQ8Q16: the int16-activation product of n rows against the
// scalar reference (exact integer block sums, float64 accumulation) on
// every path: the packed int16 micro-kernels on avx512vnni (full and half
// panels, ragged rows, columns and panels, several passes of gemmKC
// columns, blocks of gemmMC rows), the matrix-vector kernels elsewhere.
// Each row also equals a decode step's quantization of it: the same codes
// and scales go in (compared through the reference).
func TestMatMulQ8Q16(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		t.Logf("int16 micro-kernel panel: %d", gemmQ16NR())
		rng := rand.New(rand.NewPCG(5, 6))
		pool := NewPool(2)
		defer pool.Close()
		type shape struct{ rows, cols, n int }
		shapes := []shape{{6, 32, 16}, {6, 32, 32}, {48, 256, 32}, {7, 33, 17}, {50, 300, 40},
			{97, 512 + 31, 64}, {13, 1, 20}, {49, 257, 33}, {100, 2560, 211}, {5, 64, 1}, {3, 96, 15}}
		for range 12 {
			shapes = append(shapes, shape{1 + rng.IntN(120), 1 + rng.IntN(1100), 1 + rng.IntN(100)})
		}
		for _, s := range shapes {
			w := randQ8(rng, s.rows, s.cols)
			x := randF32(rng, s.n*s.cols)
			for i := range x[:min(len(x), 40)] { // a few outliers: blocks of very different scales
				x[i*7%len(x)] *= 300
			}
			var a Q16Acts
			a.Quantize(x, s.n, s.cols)
			bpr := quant.BlocksPerRow(s.cols)
			for _, p := range []*Pool{nil, pool} {
				y := randF32(rng, s.n*s.rows+1) // garbage in: outputs are stored, not added
				sentinel := y[s.n*s.rows]
				p.MatMulQ8Q16(y[:s.n*s.rows], w, x, s.n)
				if y[s.n*s.rows] != sentinel {
					t.Fatalf("%v: wrote past y", s)
				}
				worst := 0.0
				for v := 0; v < s.n; v++ {
					for r := 0; r < s.rows; r++ {
						want, abs := refQ8Q16(w, &a, v, r)
						got := float64(y[v*s.rows+r])
						// float32 sums of bpr block terms in passes of
						// gemmKC columns, each term's int32 → float32
						// conversion within 2⁻²⁴ of it.
						tol := abs*float64(bpr+24)*0x1p-24 + 1e-30
						if e := math.Abs(got - want); e > tol || math.IsNaN(got) {
							t.Fatalf("%v pool=%v: y[%d,%d] = %g, want %g (tol %g)", s, p != nil, v, r, got, want, tol)
						} else if abs > 0 {
							worst = max(worst, e/abs)
						}
					}
				}
				if p != nil && s.n == 211 {
					t.Logf("%v: worst error %.2g of Σ|terms|", s, worst)
				}
			}
		}
	})
}

// TestMatMulQ8Q16BadInput: wrong lengths are a clear panic naming them, as
// for every product (checkQ8), never a wild write.
func TestMatMulQ8Q16Zero(t *testing.T) {
	w := quant.New(4, 64)
	(*Pool)(nil).MatMulQ8Q16(nil, w, nil, 0) // n = 0: nothing to do
}

// BenchmarkMatMulQ8Q16AB compares prefill's two int8 products on the
// 4B's shapes (211 tokens): float32 activations (MatMulQ8, the packed
// float32 product) and int16 ones (MatMulQ8Q16), alternating within each
// iteration and keeping the fastest of each, so a noisy shared machine
// slows both alike. GFLOP/s count 2 per weight and token.
func BenchmarkMatMulQ8Q16AB(b *testing.B) {
	if !PrefillQ16() {
		b.Skip("no int16 micro-kernel on path " + Path())
	}
	for _, c := range []struct {
		name          string
		n, rows, cols int
		pool          bool
	}{
		{"core_211x512x2560", 211, 512, 2560, false},
		{"qkv_211x6144x2560", 211, 6144, 2560, true},
		{"gateup_211x9728x2560", 211, 9728, 2560, true},
		{"down_211x2560x9728", 211, 2560, 9728, true},
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		x := randF32(rng, c.n*c.cols)
		y := make([]float32, c.n*c.rows)
		w := benchQ8(c.rows, c.cols)
		pool := benchPool
		if !c.pool {
			pool = nil
		}
		b.Run(c.name, func(b *testing.B) {
			best := [2]float64{math.Inf(1), math.Inf(1)}
			for b.Loop() {
				for i, f := range []func(){
					func() { pool.MatMulQ8(y, w, x, c.n) },
					func() { pool.MatMulQ8Q16(y, w, x, c.n) },
				} {
					start := time.Now()
					f()
					best[i] = min(best[i], time.Since(start).Seconds())
				}
			}
			flop := 2 * float64(c.n) * float64(c.rows) * float64(c.cols)
			b.ReportMetric(flop/best[0]/1e9, "f32-GFLOP/s")
			b.ReportMetric(flop/best[1]/1e9, "q16-GFLOP/s")
			b.ReportMetric(best[0]/best[1], "speedup")
		})
	}
}
