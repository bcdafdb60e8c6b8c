package vision

import (
	"fmt"
	"math"

	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// layerNorm is a LayerNorm's affine parameters.
type layerNorm struct {
	weight, bias []float32
}

func loadLayerNorm(src weights.Source, prefix string, n int) (layerNorm, error) {
	w, err := weights.Float32(src, prefix+".weight", n)
	if err != nil {
		return layerNorm{}, err
	}
	b, err := weights.Float32(src, prefix+".bias", n)
	if err != nil {
		return layerNorm{}, err
	}
	return layerNorm{w, b}, nil
}

// rows normalizes every width-long row of x into dst, rows split across
// the pool's threads.
func (ln layerNorm) rows(p *kernels.Pool, dst, x []float32, width int, eps float32) {
	p.LayerNormRows(dst, x, ln.weight, ln.bias, width, eps)
}

// loadBiasedLinear binds "<prefix>.weight" [rows, cols] and "<prefix>.bias"
// [rows]. The vision tower is never quantized (docs/design.md §3).
func loadBiasedLinear(src weights.Source, prefix string, rows, cols int) (*weights.Linear, error) {
	l, err := weights.LoadLinear(src, prefix+".weight", rows, cols, weights.F32)
	if err != nil {
		return nil, err
	}
	if l.Bias, err = weights.LoadBias(src, prefix+".bias", rows); err != nil {
		return nil, err
	}
	return l, nil
}

// block is one vision transformer block:
// x += proj(attn(norm1(x))); x += fc2(act(fc1(norm2(x)))).
type block struct {
	norm1, norm2 layerNorm
	qkv, proj    *weights.Linear // qkv rows are [q | k | v], each [heads, headDim]
	fc1, fc2     *weights.Linear
}

func loadBlock(src weights.Source, prefix string, hidden, inter int) (*block, error) {
	var b block
	var err error
	if b.norm1, err = loadLayerNorm(src, prefix+".norm1", hidden); err != nil {
		return nil, err
	}
	if b.norm2, err = loadLayerNorm(src, prefix+".norm2", hidden); err != nil {
		return nil, err
	}
	if b.qkv, err = loadBiasedLinear(src, prefix+".attn.qkv", 3*hidden, hidden); err != nil {
		return nil, err
	}
	if b.proj, err = loadBiasedLinear(src, prefix+".attn.proj", hidden, hidden); err != nil {
		return nil, err
	}
	if b.fc1, err = loadBiasedLinear(src, prefix+".mlp.linear_fc1", inter, hidden); err != nil {
		return nil, err
	}
	if b.fc2, err = loadBiasedLinear(src, prefix+".mlp.linear_fc2", hidden, inter); err != nil {
		return nil, err
	}
	return &b, nil
}

// merger fuses each merge×merge group of patches (unit consecutive rows of
// the block-major hidden state) into one token of the text width:
// fc2(GELU_erf(fc1(norm(...)))). The main merger normalizes each patch over
// the vision hidden before the concat (preNorm); the DeepStack mergers
// normalize the concatenated unit·hidden row.
type merger struct {
	preNorm  bool
	norm     layerNorm
	fc1, fc2 *weights.Linear
}

func loadMerger(src weights.Source, prefix string, hidden, unit, out int, preNorm bool) (*merger, error) {
	m := merger{preNorm: preNorm}
	normWidth := unit * hidden
	if preNorm {
		normWidth = hidden
	}
	var err error
	if m.norm, err = loadLayerNorm(src, prefix+".norm", normWidth); err != nil {
		return nil, err
	}
	if m.fc1, err = loadBiasedLinear(src, prefix+".linear_fc1", unit*hidden, unit*hidden); err != nil {
		return nil, err
	}
	if m.fc2, err = loadBiasedLinear(src, prefix+".linear_fc2", out, unit*hidden); err != nil {
		return nil, err
	}
	return &m, nil
}

// scratch holds every per-call buffer of a forward pass, sized for n
// patches, so the blocks allocate nothing.
type scratch struct {
	n       int
	x       []float32 // residual stream [n, hidden]
	h       []float32 // normalized input / attention output [n, hidden]
	qkv     []float32 // [n, 3·hidden]
	attn    kernels.AttentionWork
	mlp     []float32 // [n, max(intermediate, hidden)]; also the merger fc1 output
	mergeIn []float32 // [n, hidden] = [tokens, unit·hidden]
}

func newScratch(n, hidden, inter int) *scratch {
	return &scratch{
		n:       n,
		x:       make([]float32, n*hidden),
		h:       make([]float32, n*hidden),
		qkv:     make([]float32, n*3*hidden),
		mlp:     make([]float32, n*max(inter, hidden)),
		mergeIn: make([]float32, n*hidden),
	}
}

// towerShape is what a forward pass needs to know about the tower.
type towerShape struct {
	hidden, heads, headDim int
	eps                    float32
	act                    func([]float32) // block MLP activation (hidden_act)
	mergerAct              func([]float32) // patch mergers: always exact erf GELU (nn.GELU())
	pool                   *kernels.Pool   // the model's threads (nil: the caller alone)
}

// forward runs block b on s.x in place. cos/sin are the grid's rotary
// tables [n, headDim].
func (b *block) forward(s *scratch, t *towerShape, cos, sin []float32) {
	n, hidden := s.n, t.hidden
	x, h := s.x[:n*hidden], s.h[:n*hidden]
	b.norm1.rows(t.pool, h, x, hidden, t.eps)
	qkv := s.qkv[:n*3*hidden]
	b.qkv.Forward(t.pool, qkv, h, n)
	attention(s, t, qkv, cos, sin, h)
	// proj writes into qkv's first n·hidden floats, which attention is done with.
	out := qkv[:n*hidden]
	b.proj.Forward(t.pool, out, h, n)
	kernels.Axpy(x, 1, out)

	b.norm2.rows(t.pool, h, x, hidden, t.eps)
	mid := s.mlp[:n*b.fc1.Rows]
	b.fc1.Forward(t.pool, mid, h, n)
	t.pool.MapRows(mid, b.fc1.Rows, t.act)
	b.fc2.Forward(t.pool, out, mid, n)
	kernels.Axpy(x, 1, out)
}

// attention computes full bidirectional multi-head attention of the fused
// qkv rows [n, q|k|v] into dst [n, hidden]: the 2-D rotary angles are
// applied to q and k in place (the attention scale folded into q, as the
// reference folds it), then the one attention op runs non-causally on
// views of the fused rows (its matrix-product path).
func attention(s *scratch, t *towerShape, qkv, cos, sin, dst []float32) {
	n, hidden, hd := s.n, t.hidden, t.headDim
	scale := float32(1 / math.Sqrt(float64(hd)))
	for p := 0; p < n; p++ {
		row := qkv[p*3*hidden : (p+1)*3*hidden]
		// The tables repeat each angle for lane j and j+hd/2 (the traced
		// rot_cos layout); the rotary op reads the first half.
		pc, ps := cos[p*hd:p*hd+hd/2], sin[p*hd:p*hd+hd/2]
		for hh := 0; hh < t.heads; hh++ {
			q := row[hh*hd : (hh+1)*hd]
			kernels.Rotate(q, pc, ps)
			for j := range q {
				q[j] *= scale
			}
			kernels.Rotate(row[hidden+hh*hd:hidden+(hh+1)*hd], pc, ps)
		}
	}
	a := kernels.Attention{
		Q: qkv, K: qkv[hidden:], V: qkv[2*hidden:], QStride: 3 * hidden, KVStride: 3 * hidden, Out: dst[:n*hidden],
		N: n, Heads: t.heads, KVHeads: t.heads, Dim: hd, Scale: 1, Work: &s.attn, Pool: t.pool,
	}
	a.Run()
}

// forward merges the n-row hidden state x into dst [n/unit, out].
func (m *merger) forward(dst []float32, s *scratch, t *towerShape, x []float32, unit int) {
	n, hidden := s.n, t.hidden
	tokens := n / unit
	in := s.mergeIn[:n*hidden] // the same bytes viewed as [tokens, unit·hidden]
	if m.preNorm {
		m.norm.rows(t.pool, in, x[:n*hidden], hidden, t.eps)
	} else {
		m.norm.rows(t.pool, in, x[:n*hidden], unit*hidden, t.eps)
	}
	mid := s.mlp[:tokens*m.fc1.Rows]
	m.fc1.Forward(t.pool, mid, in, tokens)
	t.pool.MapRows(mid, m.fc1.Rows, t.mergerAct)
	m.fc2.Forward(t.pool, dst[:tokens*m.fc2.Rows], mid, tokens)
}

// activation maps config.json's hidden_act to a kernel. Names follow
// transformers' ACT2FN: "gelu" is the exact erf GELU; the tanh variants are
// the same approximation under three names.
func activation(name string) (func([]float32), error) {
	switch {
	case isGELUTanh(name):
		return kernels.GELUTanh, nil
	case name == "gelu":
		return kernels.GELUErf, nil
	}
	return nil, fmt.Errorf("vision_config.hidden_act %q is not supported (want gelu_pytorch_tanh or gelu)", name)
}

// isGELUTanh reports a hidden_act naming the tanh-approximated GELU.
func isGELUTanh(name string) bool {
	switch name {
	case "gelu_pytorch_tanh", "gelu_new", "gelu_fast":
		return true
	}
	return false
}
