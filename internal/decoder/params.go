package decoder

import (
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
)

// Params is the decoder as bound: its shape and weights, for a backend that
// runs the same model elsewhere (the GPU engine uploads them). Loading and
// checking stay in Load, so every backend binds the same tensors by the
// same rules. The slices alias the model's; treat them as read-only.
type Params struct {
	Text      config.Text
	DeepStack int // DeepStack features, added after layers 0..DeepStack-1
	Embed     *weights.Table
	Layers    []LayerParams
	Norm      []float32
	Head      *weights.Linear
	Rotary    *mrope.Rotary
}

// LayerParams is one decoder layer's weights.
type LayerParams struct {
	InputNorm, PostNorm []float32 // [hidden]
	QNorm, KNorm        []float32 // [head_dim], shared by all heads
	Q, K, V, O          *weights.Linear
	Gate, Up, Down      *weights.Linear
}

// Params returns the model's bound weights.
func (m *Model) Params() Params {
	p := Params{Text: m.cfg, DeepStack: m.deepstack, Embed: m.embed, Norm: m.norm, Head: m.head, Rotary: m.rotary}
	for i := range m.layers {
		l := &m.layers[i]
		p.Layers = append(p.Layers, LayerParams{
			InputNorm: l.inputNorm, PostNorm: l.postNorm, QNorm: l.qNorm, KNorm: l.kNorm,
			Q: l.q, K: l.k, V: l.v, O: l.o, Gate: l.gate, Up: l.up, Down: l.down,
		})
	}
	return p
}
