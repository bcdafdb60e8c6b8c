package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMatVecQ8Each: n products sharing one pass over W give, row for row,
// exactly what MatVecQ8 gives each vector alone, on every path, on the
// caller and on a pool, for every n the batched kernels specialize (1..8)
// and beyond (groups), with ragged row counts, columns that are not a
// multiple of the 32-column block (a short last scale block), fewer
// columns than a block, and odd block counts (the kernels' single-block
// tail). The results are also checked against the scalar reference.
func TestMatVecQ8Each(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		pool := NewPool(2)
		defer pool.Close()
		type shape struct{ rows, cols, n int }
		shs := []shape{{7, 64, 3}, {37, 100, 2}, {600, 512, 5}, {1000, 256, 8}, {3, 7, 4}, {5, 96, 11}, {300, 2560, 8},
			// ≥ 16 blocks (the kernels' unrolled chunks) with a chunk
			// remainder, odd block counts and odd rows for n = 1..5.
			{9, 1056, 2}, {7, 2080, 3}, {5, 544, 4}, {3, 1600, 1}, {11, 1000, 5}, {4, 512, 2},
			{13, 1632, 6}, {10, 1056, 7}, {9, 1600, 8}}
		for n := 1; n <= 9; n++ {
			shs = append(shs, shape{1 + rng.IntN(70), 1 + rng.IntN(400), n})
			shs = append(shs, shape{1 + rng.IntN(40), 32 * (1 + rng.IntN(9)), n})
		}
		for _, sh := range shs {
			w := randQ8(rng, sh.rows, sh.cols)
			x := randF32(rng, sh.n*sh.cols)
			want := make([]float32, sh.n*sh.rows)
			for b := 0; b < sh.n; b++ {
				MatVecQ8(want[b*sh.rows:(b+1)*sh.rows], w, x[b*sh.cols:(b+1)*sh.cols])
			}
			ref := make([]float32, sh.n*sh.rows)
			refMatMulQ8(ref, w, x, sh.n)
			tol := gamma(q8Depth(sh.cols))
			for _, p := range []*Pool{nil, pool} {
				got := randF32(rng, sh.n*sh.rows) // garbage the kernel must overwrite
				p.MatVecQ8Each(got, w, x, sh.n)
				for i, v := range got {
					if v != want[i] {
						t.Fatalf("%+v, %d threads: y[%d,%d] = %v, MatVecQ8 alone gives %v",
							sh, p.Threads(), i/sh.rows, i%sh.rows, v, want[i])
					}
					b, r := i/sh.rows, i%sh.rows
					exact, abs := exactQ8(w, r, x[b*sh.cols:(b+1)*sh.cols])
					checkClose(t, fmt.Sprintf("%+v y[%d,%d]", sh, b, r), v, ref[i], exact, abs, tol, tol)
				}
			}
		}
	})
}

// TestPoolLifecycle: a pool starts no worker until a parallel call, counts
// the calls it splits, and after Close still computes (on the caller).
func TestPoolLifecycle(t *testing.T) {
	p := NewPool(2)
	if p.started {
		t.Fatal("a new pool started its workers")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	w := randQ8(rng, 512, 1024)
	x := randF32(rng, 1024)
	y, want := make([]float32, 512), make([]float32, 512)
	MatVecQ8(want, w, x)
	p.MatVecQ8(y, w, x)
	if !p.started || p.ParallelCalls() != 1 || !slices.Equal(y, want) {
		t.Fatalf("after one parallel call: started %v, %d parallel calls, equal %v", p.started, p.ParallelCalls(), slices.Equal(y, want))
	}
	p.Close()
	clear(y)
	p.MatVecQ8(y, w, x)
	if p.started || p.ParallelCalls() != 1 || !slices.Equal(y, want) {
		t.Fatalf("after Close: started %v, %d parallel calls, equal %v", p.started, p.ParallelCalls(), slices.Equal(y, want))
	}
}

// TestGuidedClaims: runRows' guided chunks cover every row once, in
// order, start on multiples of 4 rows, never shrink below the grain
// (except the last), and shrink as the rows run out (the first claim is
// 1/threads of the rows).
func TestGuidedClaims(t *testing.T) {
	for _, threads := range []int{2, 3, 8} {
		for _, total := range []int{1, 4, 7, 100, 2560, 9728, 151936} {
			for _, grain := range []int{4, 28, 104} {
				p := &Pool{threads: threads, total: total, grain: grain, guided: true}
				next, last := 0, math.MaxInt
				for {
					lo, hi, ok := p.claim()
					if !ok {
						break
					}
					if lo != next || hi <= lo || hi > total || lo%4 != 0 {
						t.Fatalf("threads %d total %d grain %d: chunk [%d, %d) after row %d", threads, total, grain, lo, hi, next)
					}
					if n := hi - lo; n < grain && hi != total || n > last || next == 0 && n != max(grain, (total/threads+3)&^3) && hi != total {
						t.Fatalf("threads %d total %d grain %d: chunk [%d, %d) of %d rows (previous %d)", threads, total, grain, lo, hi, n, last)
					}
					next, last = hi, hi-lo
				}
				if next != total {
					t.Fatalf("threads %d total %d grain %d: claims stopped at row %d", threads, total, grain, next)
				}
			}
		}
	}
}
