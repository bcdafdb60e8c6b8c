package bundle

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Checkpoint tensor names the conversion treats specially.
const (
	embedTensor  = "model.language_model.embed_tokens.weight"
	headTensor   = "lm_head.weight"
	visualPrefix = "model.visual."
)

// quantizedLinear matches the decoder linears stored in int8 (docs/design.md §3).
var quantizedLinear = regexp.MustCompile(`^model\.language_model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$`)

var layerLinears = []string{
	"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
	"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
}

// action is how one output tensor is produced from its source.
type action int

const (
	actCopy   action = iota // stored as is (non-float tensors)
	actF16                  // float tensor narrowed to float16
	actQ8                   // int8 values of a quantized linear
	actScales               // its float16 block scales
)

// item is one tensor of a converted bundle.
type item struct {
	out, src string
	act      action
	dtype    safetensors.DType
	shape    []int
}

func (it item) bytes() int64 {
	n := int64(it.dtype.Size())
	for _, d := range it.shape {
		n *= int64(d)
	}
	return n
}

// plan is the content of the two weight files of a converted pair.
type plan struct {
	decoder, vision []item
}

// makePlan assigns every checkpoint tensor to the decoder or vision file:
// decoder linears and the head quantized (the head taken from embed_tokens
// when tied), everything else float16, vision tower whole in float16. With
// exact set, a float tensor that float16 cannot hold exactly keeps the
// checkpoint's dtype instead (the default; see ConvertOptions.RoundToFP16).
func makePlan(ctx context.Context, cfg *config.Model, src *safetensors.Set, exact bool) (*plan, error) {
	p := &plan{}
	for i := 0; i < cfg.Text.NumLayers; i++ {
		for _, l := range layerLinears {
			if n := fmt.Sprintf("model.language_model.layers.%d.%s.weight", i, l); !src.Has(n) {
				return nil, fmt.Errorf("checkpoint is missing tensor %q (config.json has %d layers)", n, cfg.Text.NumLayers)
			}
		}
	}
	if !src.Has(embedTensor) {
		return nil, fmt.Errorf("checkpoint is missing tensor %q (not a Qwen3-VL checkpoint?)", embedTensor)
	}
	for _, name := range src.Names() {
		t, err := src.Tensor(name)
		if err != nil {
			return nil, err
		}
		dst := &p.decoder
		if strings.HasPrefix(name, visualPrefix) {
			dst = &p.vision
		}
		switch {
		case quantizedLinear.MatchString(name) || name == headTensor:
			items, err := quantItems(name, t)
			if err != nil {
				return nil, err
			}
			*dst = append(*dst, items...)
		case t.DType.IsFloat() && exact && t.DType != safetensors.F16:
			fits, err := fitsFloat16(ctx, t)
			if err != nil {
				return nil, err
			}
			if fits {
				*dst = append(*dst, item{out: name, src: name, act: actF16, dtype: safetensors.F16, shape: t.Shape})
			} else {
				*dst = append(*dst, item{out: name, src: name, act: actCopy, dtype: t.DType, shape: t.Shape})
			}
		case t.DType.IsFloat():
			*dst = append(*dst, item{out: name, src: name, act: actF16, dtype: safetensors.F16, shape: t.Shape})
		default:
			*dst = append(*dst, item{out: name, src: name, act: actCopy, dtype: t.DType, shape: t.Shape})
		}
	}
	if !src.Has(headTensor) {
		if !cfg.TieWordEmbeddings {
			return nil, fmt.Errorf("checkpoint has no %q and config.json says the head is not tied to the embedding", headTensor)
		}
		// Untie: the head becomes its own int8 copy of the embedding, the
		// same matrix the engine quantizes at load from a tied checkpoint.
		t, _ := src.Tensor(embedTensor)
		items, err := quantItems(embedTensor, t)
		if err != nil {
			return nil, err
		}
		items[0].out, items[1].out = headTensor, headTensor+weights.ScalesSuffix
		p.decoder = append(p.decoder, items...)
	}
	if len(p.vision) == 0 {
		return nil, fmt.Errorf("checkpoint has no %s* tensors (not a Qwen3-VL checkpoint?)", visualPrefix)
	}
	return p, nil
}

// quantItems describes a linear's int8 tensor and its scales companion.
func quantItems(name string, t safetensors.Tensor) ([]item, error) {
	if len(t.Shape) != 2 || t.Shape[0] <= 0 || t.Shape[1] <= 0 {
		return nil, fmt.Errorf("tensor %q: shape %v, want a 2-D [out, in] weight", name, t.Shape)
	}
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("tensor %q: dtype %s, want a float type to quantize", name, t.DType)
	}
	rows, cols := t.Shape[0], t.Shape[1]
	return []item{
		{out: name, src: name, act: actQ8, dtype: safetensors.I8, shape: []int{rows, cols}},
		{out: name + weights.ScalesSuffix, src: name, act: actScales, dtype: safetensors.F16, shape: []int{rows, quant.BlocksPerRow(cols)}},
	}, nil
}

// fitsFloat16 reports whether every value of t survives narrowing to float16
// unchanged (no rounding below its normal range, no overflow past ±65504).
// NaN or infinite values are an error naming the tensor and element.
func fitsFloat16(ctx context.Context, t safetensors.Tensor) (bool, error) {
	n := t.NumElements()
	buf := make([]float32, min(n, chunkElems))
	fits := true
	for first := 0; first < n; first += len(buf) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		m := min(len(buf), n-first)
		if err := t.Float32sInto(buf[:m], first); err != nil {
			return false, err
		}
		for i, v := range buf[:m] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return false, nonFinite(t.Name, first+i, v) // a corrupt checkpoint, whatever the storage
			}
			fits = fits && f16.ToF32(f16.FromF32(v)) == v
		}
	}
	return fits, nil
}
