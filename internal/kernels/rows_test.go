package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestRows: the pool's row operations compute every row bit for bit as the
// single-row functions do, on pools of several sizes.
func TestRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const rows, width = 300, 257
	x := randF32(rng, rows*width)
	wt, bias := randF32(rng, width), randF32(rng, width)
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		want, got := append([]float32(nil), x...), append([]float32(nil), x...)
		for r := range rows {
			LayerNorm(want[r*width:(r+1)*width], x[r*width:(r+1)*width], wt, bias, 1e-6)
		}
		p.LayerNormRows(got, x, wt, bias, width, 1e-6)
		same(t, "LayerNormRows", got, want)

		copy(want, x)
		copy(got, x)
		for r := range rows {
			GELUTanh(want[r*width : (r+1)*width])
		}
		p.MapRows(got, width, GELUTanh)
		same(t, "MapRows", got, want)

		copy(want, x)
		copy(got, x)
		for r := range rows {
			row := want[r*width : (r+1)*width]
			for j := range row {
				row[j] *= 0.125
			}
			Softmax(row)
		}
		p.softmaxRows(got, width, 0.125)
		same(t, "softmaxRows", got, want)
		p.Close()
	}
}

func same(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
