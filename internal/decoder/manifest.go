package decoder

import (
	"fmt"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Manifest lists every tensor Load binds for cfg, with its shape: the one
// place tools (inspect, bench, conversion checks) learn the decoder's
// tensor names. TestManifestMatchesLoad keeps it and Load in step.
func Manifest(cfg *config.Model) []weights.Spec {
	t := cfg.Text
	h, qd, kvd := t.HiddenSize, t.NumHeads*t.HeadDim, t.NumKVHeads*t.HeadDim
	specs := []weights.Spec{{Name: embedName, Shape: []int{t.VocabSize, h}, Role: weights.RoleFloat}}
	for i := 0; i < t.NumLayers; i++ {
		n := fmt.Sprintf(layerNameF, i)
		specs = append(specs,
			weights.Spec{Name: n + "input_layernorm.weight", Shape: []int{h}, Role: weights.RoleNorm},
			weights.Spec{Name: n + "post_attention_layernorm.weight", Shape: []int{h}, Role: weights.RoleNorm},
			weights.Spec{Name: n + "self_attn.q_norm.weight", Shape: []int{t.HeadDim}, Role: weights.RoleNorm},
			weights.Spec{Name: n + "self_attn.k_norm.weight", Shape: []int{t.HeadDim}, Role: weights.RoleNorm},
			weights.Spec{Name: n + "self_attn.q_proj.weight", Shape: []int{qd, h}},
			weights.Spec{Name: n + "self_attn.k_proj.weight", Shape: []int{kvd, h}},
			weights.Spec{Name: n + "self_attn.v_proj.weight", Shape: []int{kvd, h}},
			weights.Spec{Name: n + "self_attn.o_proj.weight", Shape: []int{h, qd}},
			weights.Spec{Name: n + "mlp.gate_proj.weight", Shape: []int{t.IntermediateSize, h}},
			weights.Spec{Name: n + "mlp.up_proj.weight", Shape: []int{t.IntermediateSize, h}},
			weights.Spec{Name: n + "mlp.down_proj.weight", Shape: []int{h, t.IntermediateSize}},
		)
	}
	return append(specs,
		weights.Spec{Name: normName, Shape: []int{h}, Role: weights.RoleNorm},
		// A tied checkpoint has no lm_head; Load then quantizes embed_tokens as the head.
		weights.Spec{Name: headName, Shape: []int{t.VocabSize, h}, Optional: cfg.TieWordEmbeddings},
	)
}
