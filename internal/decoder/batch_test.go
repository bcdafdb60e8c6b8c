package decoder

import (
	"context"
	"math"
	"testing"

	"github.com/vlmrt/vlmrt/internal/weights"
)

// TestForwardBatchMatchesForward: three conversations (image, text and the
// two-turn prompt, the last with a float16 cache) stepped together by
// ForwardBatch give, step after step, the logits each gets alone from
// Forward: same greedy tokens, and logits equal up to the summation order of
// the batched product in float32 (the bound is asserted; the measured value
// is logged) and bit for bit in int8.
func TestForwardBatchMatchesForward(t *testing.T) {
	in := loadInputs(t)
	names := []string{"image", "text", "multiturn"}
	for _, p := range []weights.Precision{weights.F32, weights.Int8} {
		t.Run(modeOf(p), func(t *testing.T) {
			m := tinyA(t, p)
			ctx := context.Background()
			v := m.Vocab()
			type conv struct {
				alone, batched *Cache
				st             *Static
				next           int32 // next token
				pos            int32 // its t position
			}
			convs := make([]*conv, len(names))
			for i, name := range names {
				pr := in.Prompts[name]
				c := &conv{alone: m.NewCache(), batched: m.NewCache()}
				if i == 2 {
					c.alone, c.batched = m.NewCacheF16(), m.NewCacheF16()
				}
				ids := pr.IDs
				if pr.Image != nil {
					c.st, ids = imageStatic(t, *pr.Image, *pr.ImageStart), pr.ExtIDs
				}
				logits := make([]float32, v)
				for _, cache := range []*Cache{c.alone, c.batched} {
					if err := m.Forward(ctx, cache, ids, pr.PositionsTHW, c.st, LastLogits, logits); err != nil {
						t.Fatal(err)
					}
				}
				c.next = int32(argmaxOf(logits))
				for _, q := range pr.PositionsTHW {
					c.pos = max(c.pos, q[0]+1, q[1]+1, q[2]+1)
				}
				convs[i] = c
			}
			b := m.NewBatch()
			n := len(convs)
			batched := make([]float32, n*v)
			alone := make([]float32, v)
			caches := make([]*Cache, n)
			ids := make([]int32, n)
			pos := make([][3]int32, n)
			statics := make([]*Static, n)
			var worst float64
			for step := 0; step < 6; step++ {
				for i, c := range convs {
					caches[i], ids[i], pos[i], statics[i] = c.batched, c.next, [3]int32{c.pos, c.pos, c.pos}, c.st
				}
				if err := m.ForwardBatch(ctx, b, caches, ids, pos, statics, batched); err != nil {
					t.Fatal(err)
				}
				for i, c := range convs {
					if err := m.Forward(ctx, c.alone, ids[i:i+1], pos[i:i+1], c.st, LastLogits, alone); err != nil {
						t.Fatal(err)
					}
					row := batched[i*v : (i+1)*v]
					var maxAbs, scale float64
					for j := range alone {
						maxAbs = max(maxAbs, math.Abs(float64(row[j]-alone[j])))
						scale = max(scale, math.Abs(float64(alone[j])))
					}
					worst = max(worst, maxAbs/scale)
					// int8: each row is computed by the single step's own
					// kernels, so the logits are bit-identical.
					if p == weights.Int8 && maxAbs != 0 {
						t.Fatalf("step %d, %s: int8 batched logits differ from Forward's by %.3g", step, names[i], maxAbs)
					}
					if maxAbs > 1e-4*scale {
						t.Fatalf("step %d, %s: batched logits differ from Forward's by %.3g (logits up to %.3g)", step, names[i], maxAbs, scale)
					}
					if got, want := argmaxOf(row), argmaxOf(alone); got != want {
						t.Fatalf("step %d, %s: batched greedy token %d, alone %d", step, names[i], got, want)
					}
					if c.alone.Len() != c.batched.Len() {
						t.Fatalf("%s: cache lengths %d alone, %d batched", names[i], c.alone.Len(), c.batched.Len())
					}
					c.next, c.pos = int32(argmaxOf(alone)), c.pos+1
				}
			}
			t.Logf("worst relative logit difference batched vs alone: %.3g", worst)
		})
	}
}

// TestForwardBatchRejects: bad batches fail before any cache advances.
func TestForwardBatchRejects(t *testing.T) {
	m := tinyA(t, weights.Int8)
	ctx := context.Background()
	c := m.NewCache()
	logits := make([]float32, 2*m.Vocab())
	cases := map[string]error{
		"same cache twice": m.ForwardBatch(ctx, m.NewBatch(), []*Cache{c, c}, []int32{1, 2}, make([][3]int32, 2), make([]*Static, 2), logits),
		"id out of range":  m.ForwardBatch(ctx, m.NewBatch(), []*Cache{c}, []int32{int32(m.Vocab())}, make([][3]int32, 1), make([]*Static, 1), logits),
		"short logits":     m.ForwardBatch(ctx, m.NewBatch(), []*Cache{c, m.NewCache()}, []int32{1, 2}, make([][3]int32, 2), make([]*Static, 2), logits[:m.Vocab()]),
		"length mismatch":  m.ForwardBatch(ctx, m.NewBatch(), []*Cache{c}, []int32{1, 2}, make([][3]int32, 1), make([]*Static, 1), logits),
	}
	for name, err := range cases {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if c.Len() != 0 {
		t.Fatalf("a rejected batch advanced the cache to %d", c.Len())
	}
}

// argmaxOf is the greedy token of a logits row.
func argmaxOf(x []float32) int {
	best, _ := argmaxTop2(x)
	return best
}
