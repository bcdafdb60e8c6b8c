package decoder

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Batch is the scratch of ForwardBatch: several sequences advanced by one
// token each in one pass over the weights. Every int8 linear layer runs as
// B matrix-vector products sharing one pass over the matrix
// (kernels.Pool.MatVecQ8Each: each weight block is read from memory and
// widened to float32 once for the B rows, and each row is computed exactly
// as a single sequence's step computes it); attention
// runs per sequence on its own cache. A Batch belongs to one Model and must not be
// used by two goroutines at once; it is reused across steps, so a steady
// step allocates nothing.
type Batch struct {
	m      *Model
	s      scratch
	caches []*Cache
	scores []float32
}

// NewBatch returns empty batch scratch for m.
func (m *Model) NewBatch() *Batch { return &Batch{m: m} }

// ForwardBatch runs ids[i] at positions[i] as the next token of caches[i],
// whose image inputs are statics[i] (nil: TextOnly), and writes the
// logits of row i to logits[i*vocab:(i+1)*vocab]. The caches must be
// distinct and belong to m. On error no cache has advanced.
func (m *Model) ForwardBatch(ctx context.Context, b *Batch, caches []*Cache, ids []int32, positions [][3]int32, statics []*Static, logits []float32) error {
	n := len(caches)
	if b == nil || b.m != m {
		return fmt.Errorf("decoder: batch scratch belongs to another model")
	}
	if n == 0 || len(ids) != n || len(positions) != n || len(statics) != n {
		return fmt.Errorf("decoder: ForwardBatch with %d caches, %d ids, %d positions, %d statics", n, len(ids), len(positions), len(statics))
	}
	if len(logits) < n*m.vocab {
		return fmt.Errorf("decoder: logits buffer holds %d values, want %d rows × %d", len(logits), n, m.vocab)
	}
	for i, c := range caches {
		if c == nil || c.m != m {
			return fmt.Errorf("decoder: cache %d belongs to another model", i)
		}
		for _, d := range caches[:i] {
			if d == c {
				return fmt.Errorf("decoder: cache %d appears twice in one batch", i)
			}
		}
		st := statics[i]
		if st == nil {
			st = textOnly
		}
		if _, err := st.check(m, false); err != nil {
			return err
		}
		if id := ids[i]; id < 0 || int(id) >= m.vocab+st.Slots {
			return fmt.Errorf("decoder: row %d has id %d outside [0, vocab %d + %d image slots)", i, id, m.vocab, st.Slots)
		}
		if mp := m.cfg.MaxPositions; mp > 0 && c.n+1 > mp {
			return fmt.Errorf("decoder: row %d: %d tokens exceed the context length %d", i, c.n+1, mp)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.caches = append(b.caches[:0], caches...)
	b.prepare(n)
	s := &b.s
	h, half := m.hidden, m.headDim/2
	for i, c := range caches {
		c.reserve(c.n + 1)
		if n := kernels.AttentionScoresLen(m.heads, m.kvHeads, c.n+1); len(b.scores) < n {
			b.scores = make([]float32, 2*n)
		}
		x := s.x[i*h : (i+1)*h]
		if id := int(ids[i]); id < m.vocab {
			m.embed.Row(x, id)
		} else {
			slot := id - m.vocab
			copy(x, statics[i].ImageEmbeds[slot*h:(slot+1)*h])
		}
		m.rotary.CosSin(s.cos[i*half:(i+1)*half], s.sin[i*half:(i+1)*half], positions[i])
	}
	for li := range m.layers {
		if err := ctx.Err(); err != nil {
			return err // nothing committed: the caches' lengths are unchanged
		}
		m.layerForward(s, b, li, n)
		if li < m.deepstack {
			for i, id := range ids {
				if st := statics[i]; st != nil && int(id) >= m.vocab {
					row := li*st.Slots + int(id) - m.vocab
					kernels.Axpy(s.x[i*h:(i+1)*h], 1, st.DeepstackEmbeds[row*h:(row+1)*h])
				}
			}
		}
	}
	for _, c := range caches {
		c.n++
	}
	for i := 0; i < n; i++ {
		kernels.RMSNorm(s.hn[i*h:(i+1)*h], s.x[i*h:(i+1)*h], m.norm, m.eps)
	}
	m.apply(s, m.input(s, s.hn[:n*h], n), weights.Output{L: m.head, Y: logits[:n*m.vocab]})
	return nil
}

// prepare sizes the batch scratch for n rows.
func (b *Batch) prepare(n int) {
	if n <= b.s.tokens {
		return
	}
	b.s.alloc(b.m, n, true)
	b.s.each = true
}

// newKV: the rows' keys and values are computed in the batch scratch and
// copied to each row's cache by attend.
func (b *Batch) newKV(_, n int) (k, v []float32) {
	kvd := b.m.kvHeads * b.m.headDim
	return b.s.kNew[:n*kvd], b.s.vNew[:n*kvd]
}

// attend stores row i's key and value at its cache's next index and runs
// its query against that cache alone.
func (b *Batch) attend(li, n int, q, out, k, v []float32) {
	kvd, qd := b.m.kvHeads*b.m.headDim, b.m.heads*b.m.headDim
	for i, c := range b.caches[:n] {
		c.storeRow(li, c.n, k[i*kvd:(i+1)*kvd], v[i*kvd:(i+1)*kvd])
		c.attention(&b.s.attn, li, 1, q[i*qd:(i+1)*qd], out[i*qd:(i+1)*qd], b.scores)
	}
}

// storeRow copies one token's keys and values into the cache at index at.
func (c *Cache) storeRow(li, at int, k, v []float32) {
	kvd := c.m.kvHeads * c.m.headDim
	if !c.half {
		copy(c.k[li][at*kvd:(at+1)*kvd], k)
		copy(c.v[li][at*kvd:(at+1)*kvd], v)
		return
	}
	dk, dv := c.k16[li][at*kvd:(at+1)*kvd], c.v16[li][at*kvd:(at+1)*kvd]
	for i := range k {
		dk[i], dv[i] = f16.FromF32(k[i]), f16.FromF32(v[i])
	}
}
