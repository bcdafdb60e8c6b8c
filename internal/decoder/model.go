package decoder

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
)

// Tensor name prefixes of a Hugging Face Qwen3-VL checkpoint.
const (
	prefix     = "model.language_model."
	embedName  = prefix + "embed_tokens.weight"
	normName   = prefix + "norm.weight"
	headName   = "lm_head.weight"
	layerNameF = prefix + "layers.%d."
)

// Model is a loaded decoder. It is immutable after Load and safe for
// concurrent use by many Caches.
type Model struct {
	cfg       config.Text
	vocab     int
	hidden    int
	heads     int
	kvHeads   int
	headDim   int
	inter     int
	eps       float32
	deepstack int // number of DeepStack features (added after layers 0..deepstack-1)

	embed  *weights.Table
	layers []layer
	norm   []float32
	head   *weights.Linear
	rotary *mrope.Rotary
	pool   *kernels.Pool // the model's threads (nil: the caller alone)
	// acts is the activation format of decode's int8 linear layers (see
	// SetActs).
	acts Acts
}

// SetPool makes the model's products and attention run on p's threads
// (nil: on the caller alone). Call it before the model is shared.
func (m *Model) SetPool(p *kernels.Pool) { m.pool = p }

// Acts is the activation format a decode step's int8 linear layers
// multiply their weights with.
type Acts int

const (
	// ActsFloat32 widens the int8 weights to float32 and multiplies the
	// float32 activations: the reference numerics (the oracle's).
	ActsFloat32 Acts = iota // the zero value
	// ActsInt16 quantizes each layer's input per 32-value block to int16
	// and multiplies with exact integer dot products
	// (kernels.Pool.MatVecQ8Q16): a rounding of 1.5e-5 of each block's
	// largest value, which keeps every golden token (TestGoldenActInt16)
	// and lets the kernel keep up with memory on wide-vector CPUs. A
	// prompt's tokens are quantized the same way where the path has the
	// int16 matrix-matrix kernel (kernels.PrefillQ16: avx512vnni and
	// avxvnni, where VPDPWSSD does twice a float32 FMA's work per
	// instruction), and prefill in float32 elsewhere.
	ActsInt16
	// ActsInt8 quantizes to int8 (kernels.Pool.MatVecQ8Q8): the act-int8
	// opt-in, not the reference numerics (the logits move; measured
	// against the oracle in TestGoldenActInt8).
	ActsInt8
)

const (
	// ActsAuto is what a model opened without a choice runs: ActsInt16
	// where the CPU has the int16 kernels (kernels.Q8Q16Path is not
	// generic: amd64 with AVX2 or AVX-512, arm64 NEON), else ActsFloat32. Resolve
	// turns it into one of the formats above.
	ActsAuto Acts = -1 // not a zero value: a Model and its callers default to the reference
)

// Resolve returns a, with ActsAuto replaced by the format it stands for
// on this CPU and kernel path.
func (a Acts) Resolve() Acts {
	if a != ActsAuto {
		return a
	}
	if kernels.Q8Q16Path() != kernels.PathGeneric {
		return ActsInt16
	}
	return ActsFloat32
}

// ParseActs reads a format as the CLI spells it: auto, f32 (or float32),
// int16, int8.
func ParseActs(s string) (Acts, error) {
	switch s {
	case "auto", "":
		return ActsAuto, nil
	case "f32", "float32":
		return ActsFloat32, nil
	case "int16":
		return ActsInt16, nil
	case "int8":
		return ActsInt8, nil
	}
	return 0, fmt.Errorf("activation format %q: want auto, f32, int16 or int8", s)
}

// String names the format as the CLI and bench do.
func (a Acts) String() string {
	switch a {
	case ActsAuto:
		return "auto"
	case ActsFloat32:
		return "f32"
	case ActsInt16:
		return "int16"
	case ActsInt8:
		return "int8"
	}
	return fmt.Sprintf("Acts(%d)", int(a))
}

// SetActs selects the activation format of every int8 linear layer of a
// generated token's step (Step, ForwardBatch); prompt tokens (Forward)
// keep float32 activations, as do float32 weights.
// ActsAuto is resolved here (Acts.Resolve). Call it before the model is
// shared.
func (m *Model) SetActs(a Acts) { m.acts = a.Resolve() }

// Acts reports the format SetActs selected.
func (m *Model) Acts() Acts { return m.acts }

// PrefillActs reports the format a prompt's int8 linear layers take:
// int16 under ActsInt16 where the path has the int16 matrix-matrix kernel
// (kernels.PrefillQ16), else float32 (int8 activations stay a decode
// opt-in: prompts are float32 under ActsInt8).
func (m *Model) PrefillActs() Acts {
	if m.acts == ActsInt16 && kernels.PrefillQ16() {
		return ActsInt16
	}
	return ActsFloat32
}

// layer holds one Qwen3 decoder layer's weights.
type layer struct {
	inputNorm, postNorm []float32 // [hidden]
	qNorm, kNorm        []float32 // [head_dim], shared by all heads
	q, k, v, o          *weights.Linear
	gate, up, down      *weights.Linear
}

// Load binds model.language_model.* from src at precision p. The head is
// lm_head.weight when the checkpoint has one (untied, or a converted bundle
// that untied it); a tied head without it is embed_tokens bound a second
// time as a linear, so in Int8 mode it is quantized as its own copy while
// the embedding lookup keeps reading the float table. A missing or
// mis-shaped tensor is an error naming it (and both shapes).
func Load(ctx context.Context, src weights.Source, cfg *config.Model, p weights.Precision) (*Model, error) {
	t := cfg.Text
	if t.HiddenSize <= 0 || t.NumLayers <= 0 || t.NumHeads <= 0 || t.NumKVHeads <= 0 || t.HeadDim <= 0 || t.IntermediateSize <= 0 || t.VocabSize <= 0 {
		return nil, fmt.Errorf("decoder: text config has non-positive sizes: %+v", t)
	}
	if t.NumHeads%t.NumKVHeads != 0 {
		return nil, fmt.Errorf("decoder: %d attention heads not a multiple of %d kv heads", t.NumHeads, t.NumKVHeads)
	}
	nds := len(cfg.Vision.DeepstackIndexes)
	if nds > t.NumLayers {
		return nil, fmt.Errorf("decoder: %d DeepStack features but only %d layers", nds, t.NumLayers)
	}
	rot, err := mrope.NewRotary(t.HeadDim, t.RopeTheta, t.MRopeSection)
	if err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	m := &Model{
		cfg: t, vocab: t.VocabSize, hidden: t.HiddenSize, heads: t.NumHeads, kvHeads: t.NumKVHeads,
		headDim: t.HeadDim, inter: t.IntermediateSize, eps: float32(t.RMSNormEps), deepstack: nds,
		rotary: rot,
	}
	h, qd, kvd := m.hidden, m.heads*m.headDim, m.kvHeads*m.headDim
	if m.embed, err = weights.LoadTable(src, embedName, m.vocab, h); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	m.layers = make([]layer, t.NumLayers)
	for i := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[i]
		n := fmt.Sprintf(layerNameF, i)
		vecs := []struct {
			dst  *[]float32
			name string
			size int
		}{
			{&l.inputNorm, "input_layernorm.weight", h},
			{&l.postNorm, "post_attention_layernorm.weight", h},
			{&l.qNorm, "self_attn.q_norm.weight", m.headDim},
			{&l.kNorm, "self_attn.k_norm.weight", m.headDim},
		}
		for _, v := range vecs {
			if *v.dst, err = weights.Float32(src, n+v.name, v.size); err != nil {
				return nil, fmt.Errorf("decoder: %w", err)
			}
		}
		lins := []struct {
			dst        **weights.Linear
			name       string
			rows, cols int
		}{
			{&l.q, "self_attn.q_proj.weight", qd, h},
			{&l.k, "self_attn.k_proj.weight", kvd, h},
			{&l.v, "self_attn.v_proj.weight", kvd, h},
			{&l.o, "self_attn.o_proj.weight", h, qd},
			{&l.gate, "mlp.gate_proj.weight", m.inter, h},
			{&l.up, "mlp.up_proj.weight", m.inter, h},
			{&l.down, "mlp.down_proj.weight", h, m.inter},
		}
		for _, v := range lins {
			if *v.dst, err = weights.LoadLinear(src, n+v.name, v.rows, v.cols, p); err != nil {
				return nil, fmt.Errorf("decoder: %w", err)
			}
		}
	}
	if m.norm, err = weights.Float32(src, normName, h); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	head := headName
	if !src.Has(headName) {
		if !cfg.TieWordEmbeddings {
			return nil, fmt.Errorf("decoder: missing tensor %q (config says the head is not tied to the embedding)", headName)
		}
		head = embedName
	}
	if m.head, err = weights.LoadLinear(src, head, m.vocab, h, p); err != nil {
		return nil, fmt.Errorf("decoder: head: %w", err)
	}
	return m, nil
}

// Vocab is the vocabulary size V: logits rows have V entries, and ids ≥ V
// are extension ids.
func (m *Model) Vocab() int { return m.vocab }

// Hidden is the residual stream width.
func (m *Model) Hidden() int { return m.hidden }

// Layers is the number of decoder layers.
func (m *Model) Layers() int { return len(m.layers) }

// DeepstackFeatures is how many DeepStack rows per image slot Static must
// carry (added after layers 0..n-1).
func (m *Model) DeepstackFeatures() int { return m.deepstack }

// MaxPositions is the context length the config declares (0 when absent).
func (m *Model) MaxPositions() int { return m.cfg.MaxPositions }

// WeightRegions is that storage as the byte ranges themselves, in the
// order a decode step reads them (layer by layer, the head last):
// WeightBytes bytes in all, in place. The benchmark reads them plainly to
// measure the bandwidth of the very pages decode reads.
func (m *Model) WeightRegions() [][]byte {
	var out [][]byte
	for _, w := range m.decodeLinears() {
		out = append(out, w.Storage()...)
	}
	return out
}

// WeightBytes is the linear-layer and head storage one token's decode reads.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, w := range m.decodeLinears() {
		n += w.Bytes()
	}
	return n
}

// decodeLinears lists the layers a decode step reads, in its order: each
// decoder layer's linears, the head last.
func (m *Model) decodeLinears() []*weights.Linear {
	out := make([]*weights.Linear, 0, 7*len(m.layers)+1)
	for i := range m.layers {
		l := &m.layers[i]
		out = append(out, l.q, l.k, l.v, l.o, l.gate, l.up, l.down)
	}
	return append(out, m.head)
}
