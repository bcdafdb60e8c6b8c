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
//
// Forward is for prompt tokens: its linear layers take float32
// activations however the prompt is chunked, so a prompt's keys and values
// do not depend on the chunking (or on a prefix-cache hit that leaves one
// token to run). A generated token runs through Step.
func (m *Model) Forward(ctx context.Context, c *Cache, ids []int32, positions [][3]int32, st *Static, want Logits, logits []float32) error {
	return m.forward(ctx, c, ids, positions, st, want, logits, false)
}

// Step runs one generated token ids[0] as Forward does with LastLogits,
// its int8 linear layers in the model's activation format (SetActs).
func (m *Model) Step(ctx context.Context, c *Cache, ids []int32, positions [][3]int32, st *Static, logits []float32) error {
	if len(ids) != 1 {
		return fmt.Errorf("decoder: Step runs one token, got %d", len(ids))
	}
	return m.forward(ctx, c, ids, positions, st, LastLogits, logits, true)
}

func (m *Model) forward(ctx context.Context, c *Cache, ids []int32, positions [][3]int32, st *Static, want Logits, logits []float32, step bool) error {
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
	s.step = step
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
	switch want {
	case LastLogits:
		m.apply(s, m.input(s, s.hn[(n-1)*h:n*h], 1), weights.Output{L: m.head, Y: logits[:m.vocab]})
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
	kc, vc := kv.newKV(li, n)
	in := m.input(s, s.hn[:n*h], n)
	m.apply(s, in, weights.Output{L: l.q, Y: s.q[:n*qd]}, weights.Output{L: l.k, Y: kc}, weights.Output{L: l.v, Y: vc})

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
	m.apply(s, m.input(s, s.att[:n*qd], n), weights.Output{L: l.o, Y: s.o[:n*h]})
	kernels.Axpy(s.x[:n*h], 1, s.o[:n*h])

	// MLP block: RMSNorm → down(silu(gate) * up) → residual.
	for i := 0; i < n; i++ {
		kernels.RMSNorm(s.hn[i*h:(i+1)*h], s.x[i*h:(i+1)*h], l.postNorm, m.eps)
	}
	ni := n * m.inter
	in = m.input(s, s.hn[:n*h], n)
	m.apply(s, in, weights.Output{L: l.gate, Y: s.gate[:ni]}, weights.Output{L: l.up, Y: s.up[:ni]})
	kernels.SiLU(s.gate[:ni])
	for i, u := range s.up[:ni] {
		s.gate[i] *= u
	}
	m.apply(s, m.input(s, s.gate[:ni], n), weights.Output{L: l.down, Y: s.o[:n*h]})
	kernels.Axpy(s.x[:n*h], 1, s.o[:n*h])
}

// input is a linear layer's n input rows x, and which of the scratch's
// quantized forms (if any) holds them: Model.input quantizes once for the
// layers sharing an input (q, k and v; gate and up), and the form stays
// valid until the next input call.
type input struct {
	x    []float32
	n    int
	acts Acts // ActsFloat32: x itself; else s.act16 or s.act8 holds x
	// prefill16: a prompt's n tokens go through the int16-activation
	// matrix-matrix product (kernels.Pool.MatMulQ8Q16), which quantizes x.
	prefill16 bool
}

// input prepares x ([n, cols]) for the linear layers that read it: a
// generated token's step (Step, or ForwardBatch's sequences) of an int8
// model quantizes it to the model's activation format.
func (m *Model) input(s *scratch, x []float32, n int) input {
	in := input{x: x, n: n}
	if m.acts == ActsFloat32 || m.head.Q8 == nil {
		return in
	}
	if !(s.step || s.each) {
		// A prompt's tokens: int16 activations too where the path has
		// the int16 matrix-matrix kernel, else the float32 product. The
		// kernel quantizes a prompt's rows itself; fewer rows than it
		// takes are quantized here, as a decode step's.
		if m.PrefillActs() != ActsInt16 {
			return in
		}
		if n >= kernels.MatMulQ8Q16MinRows() {
			in.prefill16 = true
			return in
		}
	}
	switch m.acts {
	case ActsInt16:
		s.act16.Quantize(x, n, len(x)/n)
	case ActsInt8:
		s.act8.Quantize(x, n, len(x)/n)
	}
	in.acts = m.acts
	return in
}

// apply runs the linear layers of outs, which share the input in. With
// int16 activations they run as one pool job (the threads flow from one
// matrix into the next without waiting); otherwise one after the other:
// one product over a sequence's tokens, or for a batch of sequences
// (s.each) one matrix-vector product per row sharing the pass over the
// weights, each row exactly as a single sequence's step computes it.
func (m *Model) apply(s *scratch, in input, outs ...weights.Output) {
	fuse := in.acts == ActsInt16 && len(outs) <= kernels.MaxFused
	for _, o := range outs {
		fuse = fuse && o.L.Q8 != nil
	}
	if fuse {
		weights.ForwardInt16Fused(m.pool, &s.act16, outs...)
		return
	}
	for _, o := range outs {
		m.applyOne(s, o.L, o.Y, in)
	}
}

// applyOne is apply for one layer outside an int16 fused job.
func (m *Model) applyOne(s *scratch, l *weights.Linear, y []float32, in input) {
	switch {
	case l.Q8 != nil && in.acts == ActsInt8:
		l.ForwardInt8(m.pool, y, &s.act8)
	case l.Q8 != nil && in.prefill16:
		l.ForwardInt16(m.pool, y, in.x, in.n)
	case s.each:
		l.ForwardEach(m.pool, y, in.x, in.n)
	default:
		l.Forward(m.pool, y, in.x, in.n)
	}
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
		a.K, a.V, a.Work = c.k[li], c.v[li], &c.s.attnWork
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
