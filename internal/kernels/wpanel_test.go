package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWeightPanel checks the weight-panel product against the packed
// product bit for bit (same kernel, same chunks: only the loops around it
// differ) and against the exact sums, on shapes that take it: row counts
// that are whole panels (16 on AVX2 and NEON, 32 on AVX-512), ragged X row counts
// (a tail group of fewer than six), ragged columns and more columns than
// one pass (wpKC), alone and on pools.
func TestWeightPanel(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		nr := gemmNR()
		if nr == 0 {
			t.Logf("path %s has no matrix-matrix micro-kernel: the dot-product tiles run (TestMatMulF32)", Path())
			return
		}
		rng := rand.New(rand.NewPCG(41, 42))
		for _, sh := range [][3]int{{nr, 33, nr / 2}, {2 * nr, 300, 17}, {96, 1100, 45}, {64, 2100, 100}, {3 * nr, 64, nr/2 + 1}, {5 * nr, 2 * wpKC, nr/2 + 4}} {
			rows, cols, n := sh[0], sh[1], sh[2]
			if !wpanelOK(nr, rows, n) {
				t.Fatalf("[%d×%d] n=%d does not take the weight-panel product", rows, cols, n)
			}
			w := randF32(rng, rows*cols)
			x := randF32(rng, n*cols)
			ref := make([]float32, n*rows)
			refMatMulF32(ref, w, rows, cols, x, n)
			for _, threads := range []int{1, 3} {
				p := NewPool(threads)
				got, packed := randF32(rng, n*rows), randF32(rng, n*rows)
				p.MatMulF32(got, w, rows, cols, x, n)
				wpanelOff = true
				p.MatMulF32(packed, w, rows, cols, x, n)
				wpanelOff = false
				p.Close()
				for i := 0; i < n; i++ {
					for r := 0; r < rows; r++ {
						name := fmt.Sprintf("threads %d [%d×%d] n=%d y[%d,%d]", threads, rows, cols, n, i, r)
						if got[i*rows+r] != packed[i*rows+r] {
							t.Fatalf("%s = %v, the packed product gives %v", name, got[i*rows+r], packed[i*rows+r])
						}
						exact, abs := exactF32(w, r, cols, x[i*cols:(i+1)*cols])
						checkClose(t, name, got[i*rows+r], ref[i*rows+r], exact, abs, gamma(fastF32Depth(cols)), gamma(cols))
					}
				}
			}
		}
	})
}
