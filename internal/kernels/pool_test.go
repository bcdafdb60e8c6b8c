package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMatVecQ8Each: n products sharing one pass over W give, row for row,
// exactly what MatVecQ8 gives each vector alone (on the caller and on a
// pool; ragged row counts and a short last scale block included).
func TestMatVecQ8Each(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	pool := NewPool(2)
	defer pool.Close()
	for _, sh := range []struct{ rows, cols, n int }{{7, 64, 3}, {37, 100, 2}, {600, 512, 5}, {1000, 256, 8}} {
		w := randQ8(rng, sh.rows, sh.cols)
		x := randF32(rng, sh.n*sh.cols)
		want := make([]float32, sh.n*sh.rows)
		for b := 0; b < sh.n; b++ {
			MatVecQ8(want[b*sh.rows:(b+1)*sh.rows], w, x[b*sh.cols:(b+1)*sh.cols])
		}
		for _, p := range []*Pool{nil, pool} {
			got := make([]float32, sh.n*sh.rows)
			p.MatVecQ8Each(got, w, x, sh.n)
			if !slices.Equal(got, want) {
				t.Errorf("%+v, %d threads: MatVecQ8Each differs from MatVecQ8 per vector", sh, p.Threads())
			}
		}
	}
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
