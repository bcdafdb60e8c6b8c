package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vlmrt/vlmrt/internal/f16"
)

// naiveAttention is the float64 definition of Attention (causal: token i
// sees keys 0..base+i; otherwise all base+n keys).
func naiveAttention(q, k, v []float64, n, base, heads, kvHeads, dim int, scale float64, causal bool) []float64 {
	out := make([]float64, n*heads*dim)
	qd, kvd := heads*dim, kvHeads*dim
	for i := 0; i < n; i++ {
		for h := 0; h < heads; h++ {
			off := h / (heads / kvHeads) * dim
			ctx := base + n
			if causal {
				ctx = base + i + 1
			}
			s := make([]float64, ctx)
			mx := math.Inf(-1)
			for j := range s {
				for d := 0; d < dim; d++ {
					s[j] += q[i*qd+h*dim+d] * k[j*kvd+off+d]
				}
				s[j] *= scale
				mx = math.Max(mx, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for j := range s {
				for d := 0; d < dim; d++ {
					out[i*qd+h*dim+d] += s[j] / sum * v[j*kvd+off+d]
				}
			}
		}
	}
	return out
}

// TestAttention checks both strategies against the float64 definition:
// causal (pair at a time, float32 and float16 caches) and bidirectional
// (pair at a time, and the matrix-product path with Work), with Q, K, V as
// views of one fused row when strided.
func TestAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pool := NewPool(2)
	defer pool.Close()
	for _, c := range []struct {
		n, base, heads, kvHeads, dim int
		causal, products, fused      bool
	}{
		{1, 0, 2, 1, 8, true, false, false}, {1, 37, 4, 2, 16, true, false, false}, {5, 11, 6, 3, 12, true, false, false},
		{3, 400, 8, 2, 64, true, false, false}, {1, 2000, 16, 4, 128, true, false, false},
		{7, 0, 4, 4, 16, false, false, false}, {70, 0, 4, 4, 16, false, true, true}, {300, 0, 2, 1, 32, false, true, false},
		{5, 3, 6, 3, 12, false, true, false},
		// causal with Work: the matrix products for large enough chunks
		// (causalProducts: prefill chunks, some after earlier chunks'
		// keys); smaller ones take the pair-at-a-time path.
		{140, 0, 4, 2, 16, true, true, false}, {100, 37, 8, 2, 64, true, true, false}, {33, 500, 2, 1, 32, true, true, false},
		{40, 0, 4, 2, 16, true, true, false}, {5, 11, 6, 3, 12, true, true, false},
	} {
		for _, half := range []bool{false, true} {
			if half && c.products {
				continue // the matrix-product path takes float32 input
			}
			ctx := c.base + c.n
			q := make([]float32, c.n*c.heads*c.dim)
			k := make([]float32, ctx*c.kvHeads*c.dim)
			v := make([]float32, len(k))
			for _, s := range [][]float32{q, k, v} {
				for i := range s {
					s[i] = float32(r.NormFloat64())
				}
			}
			a := Attention{Q: q, Out: make([]float32, len(q)), N: c.n, Base: c.base, Heads: c.heads, KVHeads: c.kvHeads,
				Dim: c.dim, Scale: float32(1 / math.Sqrt(float64(c.dim))), Scores: make([]float32, AttentionScoresLen(c.heads, c.kvHeads, ctx)), Causal: c.causal, Pool: pool}
			if c.products {
				a.Work = &AttentionWork{}
			}
			widen := func(s []float32) []float64 {
				o := make([]float64, len(s))
				for i, x := range s {
					o[i] = float64(x)
				}
				return o
			}
			kd, vd := widen(k), widen(v)
			if half {
				a.K16, a.V16 = make([]uint16, len(k)), make([]uint16, len(v))
				for i := range k {
					a.K16[i], a.V16[i] = f16.FromF32(k[i]), f16.FromF32(v[i])
					kd[i], vd[i] = float64(f16.ToF32(a.K16[i])), float64(f16.ToF32(a.V16[i]))
				}
			} else {
				a.K, a.V = k, v
			}
			if c.fused { // q|k|v in one row per token, as the vision tower's qkv product writes them
				qd, kvd := c.heads*c.dim, c.kvHeads*c.dim
				row := qd + 2*kvd
				fused := make([]float32, ctx*row)
				for j := 0; j < ctx; j++ {
					if j < c.n {
						copy(fused[j*row:], q[j*qd:(j+1)*qd])
					}
					copy(fused[j*row+qd:], k[j*kvd:(j+1)*kvd])
					copy(fused[j*row+qd+kvd:], v[j*kvd:(j+1)*kvd])
				}
				a.Q, a.K, a.V, a.QStride, a.KVStride = fused, fused[qd:], fused[qd+kvd:], row, row
			}
			a.Run()
			want := naiveAttention(widen(q), kd, vd, c.n, c.base, c.heads, c.kvHeads, c.dim, float64(a.Scale), c.causal)
			var maxErr float64
			for i, x := range a.Out {
				maxErr = math.Max(maxErr, math.Abs(float64(x)-want[i]))
			}
			// outputs are convex combinations of unit-scale values: float32
			// rounding over a few thousand terms stays far below 1e-4.
			if maxErr > 1e-4 {
				t.Errorf("%+v half=%v: max error %.3g", c, half, maxErr)
			}
		}
	}
}

// TestAttentionChunks runs the matrix-product path with score tiles small
// enough that the queries split into several chunks (each causal chunk
// over a different number of keys), against the float64 definition.
func TestAttentionChunks(t *testing.T) {
	saved := attentionChunkFloats
	attentionChunkFloats = 64 * 64
	defer func() { attentionChunkFloats = saved }()
	r := rand.New(rand.NewPCG(7, 8))
	pool := NewPool(2)
	defer pool.Close()
	for _, c := range []struct {
		n, base int
		causal  bool
	}{{200, 0, true}, {150, 90, true}, {200, 0, false}} {
		const heads, kvHeads, dim = 4, 2, 32
		ctx := c.base + c.n
		q := make([]float32, c.n*heads*dim)
		k := make([]float32, ctx*kvHeads*dim)
		v := make([]float32, len(k))
		for _, s := range [][]float32{q, k, v} {
			for i := range s {
				s[i] = float32(r.NormFloat64())
			}
		}
		a := Attention{Q: q, K: k, V: v, Out: make([]float32, len(q)), N: c.n, Base: c.base, Heads: heads, KVHeads: kvHeads,
			Dim: dim, Scale: 0.2, Causal: c.causal, Pool: pool, Work: &AttentionWork{}}
		if c.causal && gemmNR() > 0 && !a.causalProducts() {
			t.Fatalf("%+v: causal chunk below the matrix products' threshold: this test would check the other path", c)
		}
		a.Run()
		widen := func(s []float32) []float64 {
			o := make([]float64, len(s))
			for i, x := range s {
				o[i] = float64(x)
			}
			return o
		}
		want := naiveAttention(widen(q), widen(k), widen(v), c.n, c.base, heads, kvHeads, dim, float64(a.Scale), c.causal)
		var maxErr float64
		for i, x := range a.Out {
			maxErr = math.Max(maxErr, math.Abs(float64(x)-want[i]))
		}
		t.Logf("%+v: max error %.3g", c, maxErr)
		if maxErr > 1e-4 {
			t.Errorf("%+v: max error %.3g", c, maxErr)
		}
	}
}

func TestAttentionAllocatesNothing(t *testing.T) {
	ctx, dim, heads := 1500, 128, 16
	a := Attention{Q: make([]float32, heads*dim), Out: make([]float32, heads*dim), K: make([]float32, ctx*4*dim), V: make([]float32, ctx*4*dim),
		N: 1, Base: ctx - 1, Heads: heads, KVHeads: 4, Dim: dim, Scale: 0.1, Scores: make([]float32, AttentionScoresLen(heads, 4, ctx)), Causal: true}
	a.Run()
	if n := testing.AllocsPerRun(20, a.Run); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
