package kernels

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkAttentionDecode is one decode step's attention in one layer of
// the 4B decoder (32 query heads, 8 key/value heads of 128, float32
// cache) at several context lengths, on the pool as decode runs it.
func BenchmarkAttentionDecode(b *testing.B) {
	const heads, kvHeads, dim = 32, 8, 128
	for _, ctx := range []int{32, 300, 2000} {
		rng := rand.New(rand.NewPCG(1, uint64(ctx)))
		a := Attention{
			Q: randF32(rng, heads*dim), Out: make([]float32, heads*dim),
			K: randF32(rng, ctx*kvHeads*dim), V: randF32(rng, ctx*kvHeads*dim),
			N: 1, Base: ctx - 1, Heads: heads, KVHeads: kvHeads, Dim: dim,
			Causal: true, Scale: 0.088, Scores: make([]float32, AttentionScoresLen(heads, kvHeads, ctx)), Pool: benchPool,
		}
		b.Run("ctx"+strconv.Itoa(ctx), func(b *testing.B) {
			b.SetBytes(int64(2 * ctx * kvHeads * dim * 4))
			for b.Loop() {
				a.Run()
			}
		})
	}
}
