package decoder

import (
	"context"
	"fmt"
	"math"

	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
)

// Logits selects which logits rows Forward writes.
type Logits int

const (
	// NoLogits skips the head (prefill chunks whose predictions are unused).
	NoLogits Logits = iota
	// LastLogits writes [1, vocab]: the prediction after the last token.
	LastLogits
	// AllLogits writes [len(ids), vocab]: row i predicts the token after ids[i].
	AllLogits
)

// Forward runs ids, which occupy sequence indices c.Len() .. c.Len()+len(ids)-1,
// appends their keys and values to c and, per want, writes logits.
//
// positions nil derives each token's (t, h, w) in-graph with
// mrope.SelfLocate from its id, its index and st's rope shift; otherwise
// positions[i] is token i's explicit rotary position. st nil means
// TextOnly(). On error the cache is left as it was.
func (m *Model) Forward(ctx context.Context, c *Cache, ids []int32, positions [][3]int32, st *Static, want Logits, logits []float32) error {
	if c == nil || c.m != m {
		return fmt.Errorf("decoder: cache belongs to another model")
	}
	n := len(ids)
	if n == 0 {
		return fmt.Errorf("decoder: Forward with no tokens")
	}
	if positions != nil && len(positions) != n {
		return fmt.Errorf("decoder: %d positions for %d tokens", len(positions), n)
	}
	if st == nil {
		st = textOnly
	}
	mergedCols, err := st.check(m, positions == nil)
	if err != nil {
		return err
	}
	limit := m.vocab + st.Slots
	for i, id := range ids {
		if id < 0 || int(id) >= limit {
			return fmt.Errorf("decoder: token %d has id %d outside [0, vocab %d + %d image slots)", i, id, m.vocab, st.Slots)
		}
	}
	switch want {
	case NoLogits:
	case LastLogits:
		if len(logits) < m.vocab {
			return fmt.Errorf("decoder: logits buffer holds %d values, want %d", len(logits), m.vocab)
		}
	case AllLogits:
		if len(logits) < n*m.vocab {
			return fmt.Errorf("decoder: logits buffer holds %d values, want %d tokens × %d", len(logits), n, m.vocab)
		}
	default:
		return fmt.Errorf("decoder: unknown logits mode %d", want)
	}
	base := c.n
	if mp := m.cfg.MaxPositions; mp > 0 && base+n > mp {
		return fmt.Errorf("decoder: %d tokens exceed the context length %d", base+n, mp)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.reserve(base + n)
	c.prepare(n)
	s := &c.s
	h, half := m.hidden, m.headDim/2

	// Embeddings and rotary angles.
	for i, id := range ids {
		x := s.x[i*h : (i+1)*h]
		if int(id) < m.vocab {
			m.embed.Row(x, int(id))
		} else {
			slot := int(id) - m.vocab
			copy(x, st.ImageEmbeds[slot*h:(slot+1)*h])
		}
		if positions != nil {
			s.pos[i] = positions[i]
		} else {
			s.pos[i] = mrope.SelfLocate(id, base+i, m.vocab, st.RopeShiftStart, st.RopeShiftAmount, mergedCols)
		}
		m.rotary.CosSin(s.cos[i*half:(i+1)*half], s.sin[i*half:(i+1)*half], s.pos[i])
	}
	c.trace(InputsEmbeds, -1, base, n, s.x)

	for li := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.layerForward(s, c, li, n)
		c.trace(LayerOut, li, base, n, s.x)
		if li < m.deepstack && st.Slots > 0 {
			for i, id := range ids {
				if int(id) >= m.vocab {
					row := li*st.Slots + int(id) - m.vocab
					kernels.Axpy(s.x[i*h:(i+1)*h], 1, st.DeepstackEmbeds[row*h:(row+1)*h])
				}
			}
		}
		c.trace(LayerPostDeepstack, li, base, n, s.x)
	}
	c.n = base + n

	// Final norm on the rows someone looks at, then the head.
	first := 0
	if want != AllLogits && c.Tracer == nil {
		first = n - 1
	}
	if want != NoLogits || c.Tracer != nil {
		for i := first; i < n; i++ {
			kernels.RMSNorm(s.hn[i*h:(i+1)*h], s.x[i*h:(i+1)*h], m.norm, m.eps)
		}
		c.trace(FinalNorm, -1, base, n, s.hn)
	}
	s.act8From = nil // hn holds the final norm now
	switch want {
	case LastLogits:
		m.apply(s, m.head, logits[:m.vocab], s.hn[(n-1)*h:n*h], 1)
	case AllLogits:
		m.head.Forward(m.pool, logits[:n*m.vocab], s.hn[:n*h], n)
	}
	return nil
}

// Positions returns the (t, h, w) positions Forward derives in-graph for
// ids starting at sequence index base with st's rope shift (st nil means
// TextOnly()): what the host can compare with mrope.RopeIndex.
func (m *Model) Positions(ids []int32, base int, st *Static) ([][3]int32, error) {
	if st == nil {
		st = textOnly
	}
	mergedCols, err := st.check(m, true)
	if err != nil {
		return nil, err
	}
	out := make([][3]int32, len(ids))
	for i, id := range ids {
		if id < 0 || int(id) >= m.vocab+st.Slots {
			return nil, fmt.Errorf("decoder: token %d has id %d outside [0, vocab %d + %d image slots)", i, id, m.vocab, st.Slots)
		}
		out[i] = mrope.SelfLocate(id, base+i, m.vocab, st.RopeShiftStart, st.RopeShiftAmount, mergedCols)
	}
	return out, nil
}

// kvStore is where a layer's new keys and values go and how the new
// queries attend: one cache for a Forward (n tokens at consecutive
// indices), one cache per row for a ForwardBatch.
type kvStore interface {
	// newKV returns where layer li's keys and values of the n new rows are
	// computed.
	newKV(li, n int) (k, v []float32)
	// attend commits k, v (as newKV returned them, QK-normed and rotated)
	// and writes causal attention of the n query rows q into out.
	attend(li, n int, q, out, k, v []float32)
}

// layerForward runs decoder layer li on the n rows in s.x, updating the
// residual stream in place; kv holds the sequences the rows belong to.
func (m *Model) layerForward(s *scratch, kv kvStore, li, n int) {
	l := &m.layers[li]
	h, hd, half := m.hidden, m.headDim, m.headDim/2
	qd, kvd := m.heads*hd, m.kvHeads*hd

	// Attention block: RMSNorm → q, k, v (k and v straight into the cache).
	for i := 0; i < n; i++ {
		kernels.RMSNorm(s.hn[i*h:(i+1)*h], s.x[i*h:(i+1)*h], l.inputNorm, m.eps)
	}
	s.act8From = nil
	kc, vc := kv.newKV(li, n)
	m.apply(s, l.q, s.q[:n*qd], s.hn[:n*h], n)
	m.apply(s, l.k, kc, s.hn[:n*h], n)
	m.apply(s, l.v, vc, s.hn[:n*h], n)

	// QK-norm per head, then M-RoPE.
	for i := 0; i < n; i++ {
		cos, sin := s.cos[i*half:(i+1)*half], s.sin[i*half:(i+1)*half]
		for hq := 0; hq < m.heads; hq++ {
			q := s.q[i*qd+hq*hd : i*qd+(hq+1)*hd]
			kernels.RMSNorm(q, q, l.qNorm, m.eps)
			kernels.Rotate(q, cos, sin)
		}
		for hk := 0; hk < m.kvHeads; hk++ {
			k := kc[i*kvd+hk*hd : i*kvd+(hk+1)*hd]
			kernels.RMSNorm(k, k, l.kNorm, m.eps)
			kernels.Rotate(k, cos, sin)
		}
	}

	kv.attend(li, n, s.q[:n*qd], s.att[:n*qd], kc, vc)
	m.apply(s, l.o, s.o[:n*h], s.att[:n*qd], n)
	kernels.Axpy(s.x[:n*h], 1, s.o[:n*h])

	// MLP block: RMSNorm → down(silu(gate) * up) → residual.
	for i := 0; i < n; i++ {
		kernels.RMSNorm(s.hn[i*h:(i+1)*h], s.x[i*h:(i+1)*h], l.postNorm, m.eps)
	}
	s.act8From = nil
	ni := n * m.inter
	m.apply(s, l.gate, s.gate[:ni], s.hn[:n*h], n)
	m.apply(s, l.up, s.up[:ni], s.hn[:n*h], n)
	kernels.SiLU(s.gate[:ni])
	for i, u := range s.up[:ni] {
		s.gate[i] *= u
	}
	m.apply(s, l.down, s.o[:n*h], s.gate[:ni], n)
	kernels.Axpy(s.x[:n*h], 1, s.o[:n*h])
}

// apply runs a linear layer on the n rows of s: one product over a
// sequence's tokens, or for a batch of sequences (s.each) one
// matrix-vector product per row sharing the pass over the weights, each
// row exactly as a single sequence's step computes it.
func (m *Model) apply(s *scratch, l *weights.Linear, y, x []float32, n int) {
	if m.actInt8 && l.Q8 != nil && (s.each || n == 1) {
		m.applyInt8(s, l, y, x, n)
		return
	}
	if s.each {
		l.ForwardEach(m.pool, y, x, n)
		return
	}
	l.Forward(m.pool, y, x, n)
}

// applyInt8 is apply for the act-int8 opt-in: the n rows of x quantized
// to int8 (once per input buffer: q, k and v reuse one quantization, gate
// and up another), then one integer-dot-product pass over the weights.
func (m *Model) applyInt8(s *scratch, l *weights.Linear, y, x []float32, n int) {
	if s.act8From != &x[0] || s.act8.N != n || s.act8.Cols != l.Cols {
		s.act8.Quantize(x, n, l.Cols)
		s.act8From = &x[0]
	}
	l.ForwardInt8(m.pool, y, &s.act8)
}

// newKV: a Forward's n tokens go at the cache's indices c.n .. c.n+n-1.
func (c *Cache) newKV(li, n int) (k, v []float32) { return c.newKVAt(li, c.n, n) }

// attend stores the new keys and values and runs causal GQA attention:
// token i sees sequence indices 0..c.n+i.
func (c *Cache) attend(li, n int, q, out, k, v []float32) {
	c.storeKV(li, c.n, k, v)
	c.attention(&c.s.attn, li, n, q, out, c.s.scores)
}

// attention runs n query rows at indices c.n.. against layer li's cache.
func (c *Cache) attention(a *kernels.Attention, li, n int, q, out, scores []float32) {
	m := c.m
	*a = kernels.Attention{
		Q: q, Out: out, N: n, Base: c.n, Heads: m.heads, KVHeads: m.kvHeads, Dim: m.headDim,
		Scale: float32(1 / math.Sqrt(float64(m.headDim))), Scores: scores, Pool: m.pool, Causal: true,
	}
	if c.half {
		a.K16, a.V16 = c.k16[li], c.v16[li]
	} else {
		a.K, a.V = c.k[li], c.v[li]
	}
	a.Run()
}

// trace reports rows of buf (n tokens from sequence index base) to the tracer.
func (c *Cache) trace(stage Stage, layer, base, n int, buf []float32) {
	if c.Tracer == nil {
		return
	}
	h := c.m.hidden
	for i := 0; i < n; i++ {
		c.Tracer.Trace(stage, layer, base+i, buf[i*h:(i+1)*h])
	}
}
