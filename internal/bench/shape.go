// Package bench measures the CPU engine on whole-model shapes: the
// machine's read bandwidth, decode and prefill throughput and the vision
// tower's encode time (issue 6). It needs no download: Shape synthesizes the
// real Qwen3-VL architectures (docs/design.md §1) and RandomSource fills them
// with seeded random weights stored exactly as a converted bundle stores
// them (int8 body and head, float16 embedding and vision tower), so a
// benchmark reads the same bytes a loaded model reads.
package bench

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vlmrt/vlmrt/config"
)

// shape is one row of the docs/design.md §1 architecture table.
type shape struct {
	layers, hidden, heads, kvHeads, headDim, inter int
	tied                                           bool
	vDepth, vHidden, vHeads, vInter                int
	deepstack                                      []int
	mrope                                          [3]int
}

// shapes are the published Qwen3-VL Instruct sizes. The vision MLP widths
// (4096; 4304 for the 8B's SigLIP-so400m tower) are the checkpoints'
// vision_config.intermediate_size.
var shapes = map[string]shape{
	"2b": {layers: 28, hidden: 2048, heads: 16, kvHeads: 8, headDim: 128, inter: 6144, tied: true,
		vDepth: 24, vHidden: 1024, vHeads: 16, vInter: 4096, deepstack: []int{5, 11, 17}, mrope: [3]int{24, 20, 20}},
	"4b": {layers: 36, hidden: 2560, heads: 32, kvHeads: 8, headDim: 128, inter: 9728, tied: true,
		vDepth: 24, vHidden: 1024, vHeads: 16, vInter: 4096, deepstack: []int{5, 11, 17}, mrope: [3]int{24, 20, 20}},
	"8b": {layers: 36, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, inter: 12288, tied: false,
		vDepth: 27, vHidden: 1152, vHeads: 16, vInter: 4304, deepstack: []int{8, 16, 24}, mrope: [3]int{24, 20, 20}},
	// tiny has testdata/tiny-a's dimensions (with the full vocabulary): the
	// package's own tests run it in seconds. Not offered by the CLI's help.
	"tiny": {layers: 5, hidden: 64, heads: 4, kvHeads: 2, headDim: 32, inter: 128, tied: true,
		vDepth: 4, vHidden: 64, vHeads: 4, vInter: 128, deepstack: []int{1, 2, 3}, mrope: [3]int{6, 5, 5}},
}

// Shapes lists the public shape names.
func Shapes() []string { return []string{"2b", "4b", "8b"} }

// Shape returns the configuration of a named model shape ("2b", "4b",
// "8b"), built as a config.json and parsed by config.Parse so it passes the
// same validation a downloaded checkpoint does.
func Shape(name string) (*config.Model, error) {
	s, ok := shapes[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("bench: unknown shape %q (want one of %s)", name, strings.Join(Shapes(), ", "))
	}
	data, err := json.Marshal(s.configJSON())
	if err != nil {
		return nil, fmt.Errorf("bench: shape %s: %w", name, err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("bench: shape %s: %w", name, err)
	}
	return cfg, nil
}

// configJSON is the shape as a Hugging Face Qwen3-VL config.json
// (transformers 4.57 spelling). The constants shared by every size are
// docs/design.md §1's. No eos_token_id: a benchmark decodes a fixed number of
// tokens whatever random weights predict.
func (s shape) configJSON() map[string]any {
	return map[string]any{
		"architectures":         []string{"Qwen3VLForConditionalGeneration"},
		"model_type":            "qwen3_vl",
		"image_token_id":        151655,
		"vision_start_token_id": 151652,
		"vision_end_token_id":   151653,
		"tie_word_embeddings":   s.tied,
		"text_config": map[string]any{
			"hidden_size":             s.hidden,
			"num_hidden_layers":       s.layers,
			"num_attention_heads":     s.heads,
			"num_key_value_heads":     s.kvHeads,
			"head_dim":                s.headDim,
			"intermediate_size":       s.inter,
			"vocab_size":              151936,
			"rms_norm_eps":            1e-6,
			"rope_theta":              5000000,
			"max_position_embeddings": 262144,
			"hidden_act":              "silu",
			"attention_bias":          false,
			"tie_word_embeddings":     s.tied,
			"rope_scaling": map[string]any{
				"rope_type":         "default",
				"mrope_section":     s.mrope[:],
				"mrope_interleaved": true,
			},
		},
		"vision_config": map[string]any{
			"depth":                    s.vDepth,
			"hidden_size":              s.vHidden,
			"num_heads":                s.vHeads,
			"intermediate_size":        s.vInter,
			"out_hidden_size":          s.hidden,
			"patch_size":               16,
			"temporal_patch_size":      2,
			"spatial_merge_size":       2,
			"in_channels":              3,
			"num_position_embeddings":  2304,
			"deepstack_visual_indexes": slices.Clone(s.deepstack),
			"hidden_act":               "gelu_pytorch_tanh",
		},
	}
}
