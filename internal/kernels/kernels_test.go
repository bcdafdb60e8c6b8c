package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// Tolerances. A float32 sum of products whose every term passes through at
// most d roundings (the depth of its summation chain, plus the product and
// scale roundings) differs from the exact value by at most
// γ_d·Σ|terms|, γ_d = d·u/(1−d·u), u = 2⁻²⁴ (Higham, Accuracy and Stability
// of Numerical Algorithms, §3.1 and §4.2). Each test computes the exact
// value in float64, bounds the fast kernel with the depth of *its* summation
// tree and ref.go with the depth of its sequential loop, and requires
// fast−exact and fast−ref within those bounds. The bounds are tight enough
// that dropping or doubling any single term of a long row fails them.

const unit = 1.0 / (1 << 24)

func gamma(d int) float64 { return float64(d) * unit / (1 - float64(d)*unit) }

// q8Depth bounds the rounding depth of any int8 row sum over cols columns:
// up to 32 within a block (ref.go is sequential), one product and one scale
// rounding, then one addition per block, plus a few for tails and lane folds.
func q8Depth(cols int) int { return 32 + 2 + quant.BlocksPerRow(cols) + 8 }

// fastF32Depth bounds the AVX2/NEON micro-kernel's chain: cols/8 per lane,
// three lane folds, one addition per column pass, and up to 7 tail terms.
// The packed product (gemm_amd64.s) sums each output along k in one lane,
// in chunks of 16 steps (cols < 128) or 32, each chunk then added to the
// running total: depth ≤ chunk + ⌈cols/chunk⌉, within this bound for every
// cols (and, with 32 and the widening's rounding, within q8Depth).
func fastF32Depth(cols int) int { return cols/4 + cols/kBlock + 16 }

func randQ8(rng *rand.Rand, rows, cols int) *quant.Matrix {
	m := quant.New(rows, cols)
	for i := range m.Q {
		m.Q[i] = int8(rng.IntN(255) - 127)
	}
	for i := range m.Scales {
		// Scales spanning two decades, as trained weights have.
		m.Scales[i] = f16.FromF32(float32(math.Exp(rng.Float64()*4.6 - 6.9)))
	}
	return m
}

func randF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// exactQ8 returns the float64 product and Σ|terms| for row r, input row xi.
func exactQ8(w *quant.Matrix, r int, xi []float32) (sum, abs float64) {
	bpr := w.BlocksPerRow()
	for c := 0; c < w.Cols; c++ {
		t := float64(w.Q[r*w.Cols+c]) * float64(f16.ToF32(w.Scales[r*bpr+c/quant.BlockSize])) * float64(xi[c])
		sum += t
		abs += math.Abs(t)
	}
	return sum, abs
}

func exactF32(w []float32, r, cols int, xi []float32) (sum, abs float64) {
	for c := 0; c < cols; c++ {
		t := float64(w[r*cols+c]) * float64(xi[c])
		sum += t
		abs += math.Abs(t)
	}
	return sum, abs
}

// checkClose reports whether got is within the fast bound of exact and
// within fast+ref bounds of ref.
func checkClose(t *testing.T, what string, got, ref float32, exact, abs, fastTol, refTol float64) {
	t.Helper()
	if d := math.Abs(float64(got) - exact); d > fastTol*abs || math.IsNaN(float64(got)) {
		t.Fatalf("%s: got %v, exact %v: error %.3g > bound %.3g", what, got, exact, d, fastTol*abs)
	}
	if d := math.Abs(float64(got) - float64(ref)); d > (fastTol+refTol)*abs {
		t.Fatalf("%s: got %v, ref.go %v: difference %.3g > bound %.3g", what, got, ref, d, (fastTol+refTol)*abs)
	}
}

// shapes mixes aligned and ragged sizes: cols not a multiple of 32, 8 or
// 16, rows not a multiple of the 3-row tile or the 48-row block, n not a
// multiple of 4, plus a few big enough to run on the pool.
func shapes(rng *rand.Rand) [][3]int { // rows, cols, n
	s := [][3]int{
		{1, 1, 1}, {1, 7, 1}, {3, 32, 2}, {5, 33, 3}, {47, 64, 4}, {49, 100, 5},
		{97, 257, 7}, {64, 512, 9}, {130, 520, 13}, {200, 1030, 6}, {300, 2560, 1},
		{1000, 2560, 2}, {96, 640, 64}, {151, 777, 17},
		// The packed product's panels: a half-width last panel, a full
		// padded one, several passes over cols with a ragged last one.
		{100, 300, 40}, {53, 1030, 33}, {7, 129, 24},
	}
	for range 12 {
		s = append(s, [3]int{1 + rng.IntN(150), 1 + rng.IntN(700), 1 + rng.IntN(11)})
	}
	return s
}

func testMatQ8(t *testing.T, matvec bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range shapes(rng) {
		rows, cols, n := sh[0], sh[1], sh[2]
		if matvec {
			n = 1
		}
		w := randQ8(rng, rows, cols)
		x := randF32(rng, n*cols)
		y := randF32(rng, n*rows) // garbage the kernel must overwrite
		ref := make([]float32, n*rows)
		refMatMulQ8(ref, w, x, n)
		if matvec {
			MatVecQ8(y, w, x)
		} else {
			MatMulQ8(y, w, x, n)
		}
		tol := gamma(q8Depth(cols))
		for i := 0; i < n; i++ {
			for r := 0; r < rows; r++ {
				exact, abs := exactQ8(w, r, x[i*cols:(i+1)*cols])
				checkClose(t, fmt.Sprintf("[%d×%d] n=%d y[%d,%d]", rows, cols, n, i, r),
					y[i*rows+r], ref[i*rows+r], exact, abs, tol, tol)
			}
		}
	}
}

func TestMatVecQ8(t *testing.T) { eachPath(t, func(t *testing.T) { testMatQ8(t, true) }) }
func TestMatMulQ8(t *testing.T) { eachPath(t, func(t *testing.T) { testMatQ8(t, false) }) }

func TestMatMulF32(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, sh := range append(shapes(rng), [3]int{50, 1100, 9}) {
			rows, cols, n := sh[0], sh[1], sh[2]
			w := randF32(rng, rows*cols)
			x := randF32(rng, n*cols)
			y := randF32(rng, n*rows)
			ref := make([]float32, n*rows)
			refMatMulF32(ref, w, rows, cols, x, n)
			MatMulF32(y, w, rows, cols, x, n)
			for i := 0; i < n; i++ {
				for r := 0; r < rows; r++ {
					exact, abs := exactF32(w, r, cols, x[i*cols:(i+1)*cols])
					checkClose(t, fmt.Sprintf("[%d×%d] n=%d y[%d,%d]", rows, cols, n, i, r),
						y[i*rows+r], ref[i*rows+r], exact, abs, gamma(fastF32Depth(cols)), gamma(cols))
				}
			}
		}
	})
}

func TestDotAxpy(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 128, 1000, 4099} {
			a, b := randF32(rng, n), randF32(rng, n)
			exact, abs := exactF32(a, 0, n, b)
			checkClose(t, fmt.Sprintf("Dot n=%d", n), Dot(a, b), refDot(a, b), exact, abs,
				gamma(fastF32Depth(n)), gamma(n))

			alpha := float32(rng.NormFloat64())
			y := randF32(rng, n)
			want := append([]float32(nil), y...)
			refAxpy(want, alpha, b)
			Axpy(y, alpha, b)
			for i := range y {
				// One fused or two rounded operations: within 2u of |y|+|a·x|.
				bound := 2 * unit * (math.Abs(float64(want[i])) + math.Abs(float64(alpha*b[i])))
				if d := math.Abs(float64(y[i] - want[i])); d > bound {
					t.Fatalf("Axpy n=%d [%d]: got %v, ref %v", n, i, y[i], want[i])
				}
			}
		}
	})
}

// TestThreads runs the products on pools of several sizes (more threads
// than cores included) and from concurrent callers, which must then share
// the pool without corrupting each other's results.
func TestThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	w := randQ8(rng, 700, 1000)
	x := randF32(rng, 5*1000)
	want := make([]float32, 5*700)
	refMatMulQ8(want, w, x, 5)
	tol := gamma(q8Depth(1000))
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		defer p.Close()
		if got := p.Threads(); got != threads {
			t.Fatalf("Threads() = %d for NewPool(%d)", got, threads)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 4)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				y := make([]float32, 5*700)
				for range 5 {
					if g%2 == 0 {
						p.MatMulQ8(y, w, x, 5)
					} else {
						for i := range 5 {
							p.MatVecQ8(y[i*700:(i+1)*700], w, x[i*1000:(i+1)*1000])
						}
					}
					for i := range 5 {
						for r := range 700 {
							exact, abs := exactQ8(w, r, x[i*1000:(i+1)*1000])
							if d := math.Abs(float64(y[i*700+r]) - exact); d > tol*abs {
								errs <- fmt.Sprintf("threads %d caller %d: y[%d,%d] = %v, exact %v", threads, g, i, r, y[i*700+r], exact)
								return
							}
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
	}
}

// TestMatMulPool runs the packed product on pools, where few weight rows
// (attention's P·V) split the work by groups of X panels as well.
func TestMatMulPool(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, sh := range [][3]int{{64, 200, 300}, {20, 70, 129}, {97, 300, 50}} {
			rows, cols, n := sh[0], sh[1], sh[2]
			w := randF32(rng, rows*cols)
			x := randF32(rng, n*cols)
			ref := make([]float32, n*rows)
			refMatMulF32(ref, w, rows, cols, x, n)
			for _, threads := range []int{2, 3} {
				p := NewPool(threads)
				y := randF32(rng, n*rows)
				p.MatMulF32(y, w, rows, cols, x, n)
				p.Close()
				for i := 0; i < n; i++ {
					for r := 0; r < rows; r++ {
						exact, abs := exactF32(w, r, cols, x[i*cols:(i+1)*cols])
						checkClose(t, fmt.Sprintf("threads %d [%d×%d] n=%d y[%d,%d]", threads, rows, cols, n, i, r),
							y[i*rows+r], ref[i*rows+r], exact, abs, gamma(fastF32Depth(cols)), gamma(cols))
					}
				}
			}
		}
	})
}

// TestMatMulT: the packed product with X given transposed and Y written
// untransposed (attention's Q·Kᵀ and P·V) gives bit for bit the packed
// product of the same operands in the usual layouts (same micro-kernel,
// same chunks) — whole and ragged blocks of rows, full and half-width last
// panels — and leaves the gaps between Y's rows alone.
func TestMatMulT(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		if gemmNR() == 0 {
			t.Skip("no matrix-matrix micro-kernel on this path")
		}
		rng := rand.New(rand.NewPCG(17, 18))
		pool := NewPool(2)
		defer pool.Close()
		for _, sh := range [][3]int{{6, 64, 16}, {48, 200, 32}, {50, 300, 40}, {97, 130, 64}, {120, 70, 100}, {784 / 7, 64, 112}, {64, 112, 64}} {
			rows, cols, n := sh[0], sh[1], sh[2]
			w := randF32(rng, rows*cols)
			xt := randF32(rng, cols*n) // [cols, n]
			x := make([]float32, n*cols)
			for k := range cols {
				for i := range n {
					x[i*cols+k] = xt[k*n+i]
				}
			}
			want := make([]float32, n*rows)
			matMul(pool, &matMulTask{y: want, wf: w, rows: rows, cols: cols, x: x, n: n})
			for _, p := range []*Pool{nil, pool} {
				ys := n + 3
				y := make([]float32, rows*ys)
				for i := range y {
					y[i] = float32(i) // gaps must keep these
				}
				p.matMulT(y, ys, w, cols, rows, cols, xt, n, n)
				for j := range rows {
					for i := range ys {
						got := y[j*ys+i]
						if i >= n {
							if got != float32(j*ys+i) {
								t.Fatalf("%v pool=%v: gap y[%d,%d] overwritten with %g", sh, p != nil, j, i, got)
							}
							continue
						}
						if math.Float32bits(got) != math.Float32bits(want[i*rows+j]) {
							t.Fatalf("%v pool=%v: y[%d,%d] = %g, the packed product gives %g", sh, p != nil, j, i, got, want[i*rows+j])
						}
					}
				}
			}
		}
	})
}

// TestTranspose covers the packing transposes' 8×8 blocks and tails.
func TestTranspose(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, sh := range [][2]int{{1, 1}, {8, 8}, {9, 17}, {16, 5}, {40, 64}, {3, 24}, {16, 16}, {48, 40}, {33, 50}, {64, 24}} {
			rows, cols := sh[0], sh[1]
			ss, ds := cols+3, rows+5
			src := randF32(rng, rows*ss)
			dst := randF32(rng, cols*ds)
			keep := append([]float32(nil), dst...)
			transposeF32(dst, ds, src, ss, rows, cols)
			for c := 0; c < cols; c++ {
				for r := 0; r < ds; r++ {
					want := keep[c*ds+r]
					if r < rows {
						want = src[r*ss+c]
					}
					if dst[c*ds+r] != want {
						t.Fatalf("%dx%d: dst[%d,%d] = %v, want %v", rows, cols, c, r, dst[c*ds+r], want)
					}
				}
			}
		}
	})
}

// TestNoAllocs: a decode step calls these hundreds of times per token.
func TestNoAllocs(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	w := randQ8(rng, 512, 1024)
	wf := randF32(rng, 512*1024)
	x := randF32(rng, 8*1024)
	y := make([]float32, 8*512)
	// 32 rows take the packed product on every path that has one.
	x32, y32 := randF32(rng, 32*1024), make([]float32, 32*512)
	cases := map[string]func(){
		"MatVecQ8":     func() { p.MatVecQ8(y[:512], w, x[:1024]) },
		"MatMulQ8":     func() { p.MatMulQ8(y, w, x, 8) },
		"MatMulF32":    func() { p.MatMulF32(y, wf, 512, 1024, x, 8) },
		"packed Q8":    func() { p.MatMulQ8(y32, w, x32, 32) },
		"packed F32":   func() { p.MatMulF32(y32, wf, 512, 1024, x32, 32) },
		"MatVecF32":    func() { p.MatMulF32(y, wf, 512, 1024, x, 1) },
		"Dot":          func() { _ = Dot(x, x) },
		"Axpy":         func() { Axpy(y, 0.5, x[:len(y)]) },
		"small MatMul": func() { p.MatMulQ8(y, randQ8Small, x, 2) },
	}
	for name, f := range cases {
		f() // first call grows the per-thread panels
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, a)
		}
	}
}

var randQ8Small = randQ8(rand.New(rand.NewPCG(11, 12)), 16, 64)

// TestPoolParking makes idle workers park almost at once, so jobs keep
// arriving while workers are between spinning, parking and waking: the
// races a slow or descheduled caller meets on a loaded machine (a stale
// wake-up once made a worker run a job twice and hung the pool).
func TestPoolParking(t *testing.T) {
	saved := spinFor
	defer func() { spinFor = saved }()
	spinFor = time.Microsecond
	rng := rand.New(rand.NewPCG(13, 14))
	w := randQ8(rng, 300, 500)
	x := randF32(rng, 3*500)
	exact, abs := make([]float64, 3*300), make([]float64, 3*300)
	for i := range 3 {
		for r := range 300 {
			exact[i*300+r], abs[i*300+r] = exactQ8(w, r, x[i*500:(i+1)*500])
		}
	}
	tol := gamma(q8Depth(500))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for iter := range 200 {
			p := NewPool(1 + iter%5)
			var wg sync.WaitGroup
			for g := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					y := make([]float32, 3*300)
					for range 4 {
						if g == 0 {
							p.MatVecQ8(y[:300], w, x[:500])
							y = y[:300]
						} else {
							p.MatMulQ8(y, w, x, 3)
						}
					}
					for i, v := range y {
						if math.Abs(float64(v)-exact[i]) > tol*abs[i] {
							t.Errorf("iteration %d caller %d: y[%d] = %v, exact %v", iter, g, i, v, exact[i])
							return
						}
					}
				}()
			}
			wg.Wait()
			p.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("pool hung: a job never completed")
	}
}
