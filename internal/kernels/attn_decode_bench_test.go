package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
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

// BenchmarkAttentionPrefill compares the two strategies on a causal
// prefill chunk of the 4B decoder's attention (32 query heads over 8
// key/value heads of 128), alternating in one process and keeping each
// one's best: "products-GFLOP/s" the matrix products (the default from
// causalProducts), "rows-GFLOP/s" the pair-at-a-time kernels,
// counting the causal FLOPs (4·dim per seen query-key pair and head).
func BenchmarkAttentionPrefill(b *testing.B) {
	const heads, kvHeads, dim = 32, 8, 128
	for _, sh := range []struct{ n, base int }{{96, 0}, {128, 0}, {32, 200}, {211, 0}, {512, 1024}} {
		rng := rand.New(rand.NewPCG(2, uint64(sh.n)))
		ctx := sh.base + sh.n
		a := Attention{
			Q: randF32(rng, sh.n*heads*dim), Out: make([]float32, sh.n*heads*dim),
			K: randF32(rng, ctx*kvHeads*dim), V: randF32(rng, ctx*kvHeads*dim),
			N: sh.n, Base: sh.base, Heads: heads, KVHeads: kvHeads, Dim: dim, Causal: true, Scale: 0.088,
			Scores: make([]float32, AttentionScoresLen(heads, kvHeads, ctx)), Pool: benchPool, Work: &AttentionWork{},
		}
		seen := float64(sh.n)*float64(sh.base) + float64(sh.n)*float64(sh.n+1)/2
		flop := 4 * dim * heads * seen
		b.Run(fmt.Sprintf("n%d_base%d", sh.n, sh.base), func(b *testing.B) {
			defer func() { causalForce = causalAuto }()
			best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
			for b.Loop() {
				for v := range 2 {
					causalForce = [2]int{causalForceProducts, causalForceRows}[v]
					t0 := time.Now()
					a.Run()
					best[v] = min(best[v], time.Since(t0))
				}
			}
			b.ReportMetric(flop/best[0].Seconds()/1e9, "products-GFLOP/s")
			b.ReportMetric(flop/best[1].Seconds()/1e9, "rows-GFLOP/s")
			b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "speedup")
		})
	}
}
