package bundle

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// synthShape is a Qwen3-VL shape unlike tiny-a: untied head, widths that
// leave a short last quantization block, a tiny vocabulary.
type synthShape struct {
	hidden, layers, heads, kvHeads, headDim, inter, vocab int
	visHidden, visDepth, visHeads, visInter               int
}

var synthDefault = synthShape{
	hidden: 80, layers: 2, heads: 2, kvHeads: 1, headDim: 40, inter: 144, vocab: 300,
	visHidden: 48, visDepth: 2, visHeads: 2, visInter: 64,
}

// writeSynthCheckpoint writes a random checkpoint with s's shape into dir,
// sharded in two files with an index, mixing bf16 and f32 tensors. edit, if
// set, may change a tensor's values before writing.
func writeSynthCheckpoint(t *testing.T, dir string, s synthShape, seed uint64, edit func(name string, v []float32)) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"architectures": []string{"Qwen3VLForConditionalGeneration"},
		"model_type":    "qwen3_vl",
		"text_config": map[string]any{
			"hidden_size": s.hidden, "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
			"num_key_value_heads": s.kvHeads, "head_dim": s.headDim, "intermediate_size": s.inter,
			"vocab_size": s.vocab, "rms_norm_eps": 1e-6, "rope_theta": 1000000, "max_position_embeddings": 8192,
			"hidden_act": "silu", "tie_word_embeddings": false,
			"rope_scaling": map[string]any{"rope_type": "default", "mrope_interleaved": true, "mrope_section": []int{8, 6, 6}},
		},
		"vision_config": map[string]any{
			"depth": s.visDepth, "hidden_size": s.visHidden, "num_heads": s.visHeads, "intermediate_size": s.visInter,
			"out_hidden_size": s.hidden, "patch_size": 16, "temporal_patch_size": 2, "spatial_merge_size": 2,
			"in_channels": 3, "num_position_embeddings": 16, "deepstack_visual_indexes": []int{0},
			"hidden_act": "gelu_pytorch_tanh",
		},
		"tie_word_embeddings": false,
		"image_token_id":      251, "vision_start_token_id": 252, "vision_end_token_id": 253,
	}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), data, 0o644); err != nil {
		t.Fatal(err)
	}

	type spec struct {
		name  string
		shape []int
		scale float32
		f32   bool
	}
	h, v := s.hidden, s.visHidden
	specs := []spec{
		{"model.language_model.embed_tokens.weight", []int{s.vocab, h}, 0.05, false},
		{"model.language_model.norm.weight", []int{h}, 1, false},
		{"lm_head.weight", []int{s.vocab, h}, 0.05, false},
	}
	for i := 0; i < s.layers; i++ {
		p := fmt.Sprintf("model.language_model.layers.%d.", i)
		specs = append(specs,
			spec{p + "input_layernorm.weight", []int{h}, 1, false},
			spec{p + "post_attention_layernorm.weight", []int{h}, 1, true},
			spec{p + "self_attn.q_norm.weight", []int{s.headDim}, 1, false},
			spec{p + "self_attn.k_norm.weight", []int{s.headDim}, 1, false},
			spec{p + "self_attn.q_proj.weight", []int{s.heads * s.headDim, h}, 0.1, false},
			spec{p + "self_attn.k_proj.weight", []int{s.kvHeads * s.headDim, h}, 0.1, false},
			spec{p + "self_attn.v_proj.weight", []int{s.kvHeads * s.headDim, h}, 0.1, true},
			spec{p + "self_attn.o_proj.weight", []int{h, s.heads * s.headDim}, 0.1, false},
			spec{p + "mlp.gate_proj.weight", []int{s.inter, h}, 0.1, false},
			spec{p + "mlp.up_proj.weight", []int{s.inter, h}, 0.1, false},
			spec{p + "mlp.down_proj.weight", []int{h, s.inter}, 0.1, false},
		)
	}
	specs = append(specs,
		spec{"model.visual.patch_embed.proj.weight", []int{v, 3, 2, 16, 16}, 0.02, false},
		spec{"model.visual.patch_embed.proj.bias", []int{v}, 0.02, false},
		spec{"model.visual.pos_embed.weight", []int{16, v}, 0.02, true},
		spec{"model.visual.merger.norm.weight", []int{v}, 1, false},
		spec{"model.visual.merger.norm.bias", []int{v}, 0.01, false},
		spec{"model.visual.merger.linear_fc1.weight", []int{4 * v, 4 * v}, 0.05, false},
		spec{"model.visual.merger.linear_fc1.bias", []int{4 * v}, 0.01, false},
		spec{"model.visual.merger.linear_fc2.weight", []int{h, 4 * v}, 0.05, false},
		spec{"model.visual.merger.linear_fc2.bias", []int{h}, 0.01, false},
	)
	for i := 0; i < s.visDepth; i++ {
		p := fmt.Sprintf("model.visual.blocks.%d.", i)
		specs = append(specs,
			spec{p + "norm1.weight", []int{v}, 1, false}, spec{p + "norm1.bias", []int{v}, 0.01, false},
			spec{p + "norm2.weight", []int{v}, 1, false}, spec{p + "norm2.bias", []int{v}, 0.01, false},
			spec{p + "attn.qkv.weight", []int{3 * v, v}, 0.05, false}, spec{p + "attn.qkv.bias", []int{3 * v}, 0.01, false},
			spec{p + "attn.proj.weight", []int{v, v}, 0.05, false}, spec{p + "attn.proj.bias", []int{v}, 0.01, false},
			spec{p + "mlp.linear_fc1.weight", []int{s.visInter, v}, 0.05, false}, spec{p + "mlp.linear_fc1.bias", []int{s.visInter}, 0.01, false},
			spec{p + "mlp.linear_fc2.weight", []int{v, s.visInter}, 0.05, false}, spec{p + "mlp.linear_fc2.bias", []int{v}, 0.01, false},
		)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	var shards [2][]safetensors.Tensor
	weightMap := map[string]string{}
	for i, sp := range specs {
		n := 1
		for _, d := range sp.shape {
			n *= d
		}
		vals := make([]float32, n)
		for j := range vals {
			if sp.scale == 1 { // norm weights hover around 1
				vals[j] = 1 + 0.1*float32(rng.NormFloat64())
			} else {
				vals[j] = sp.scale * float32(rng.NormFloat64())
			}
		}
		if len(vals) > 40 {
			// Values below float16's normal range, which a conversion must round, not corrupt.
			vals[3], vals[17], vals[39] = 3e-6, -7.5e-8, 0
		}
		if edit != nil {
			edit(sp.name, vals)
		}
		var tt safetensors.Tensor
		if sp.f32 {
			tt = safetensors.F32Tensor(sp.name, sp.shape, vals)
		} else {
			b := make([]byte, 2*n)
			for j, x := range vals {
				binary.LittleEndian.PutUint16(b[2*j:], f16.F32ToBF16(x))
			}
			tt = safetensors.Tensor{Name: sp.name, DType: safetensors.BF16, Shape: sp.shape, Data: b}
		}
		shards[i%2] = append(shards[i%2], tt)
	}
	for i, sh := range shards {
		file := fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)
		if err := safetensors.WriteFile(filepath.Join(dir, file), sh, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range sh {
			weightMap[tt.Name] = file
		}
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sortedNames returns m's keys in order.
func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
