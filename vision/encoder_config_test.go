package vision

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// syntheticConfig is shaped like the 8B tower but reduced: depth 5 instead
// of 27, width 48 with 3 heads (head_dim 16), DeepStack after blocks
// [1, 3, 4] (the last block included), an 8×8 position table and 4-pixel
// patches. Nothing in it matches tiny-a, so any tiny-a assumption breaks it.
const syntheticConfig = `{
  "architectures": ["Qwen3VLForConditionalGeneration"],
  "model_type": "qwen3_vl",
  "text_config": {
    "hidden_size": 40, "num_hidden_layers": 3, "num_attention_heads": 2,
    "num_key_value_heads": 1, "head_dim": 16, "intermediate_size": 64,
    "vocab_size": 300, "rms_norm_eps": 1e-6, "rope_theta": 5000000,
    "rope_parameters": {"rope_type": "default", "mrope_section": [4, 2, 2], "mrope_interleaved": true},
    "hidden_act": "silu"
  },
  "vision_config": {
    "depth": 5, "hidden_size": 48, "num_heads": 3, "intermediate_size": 80,
    "out_hidden_size": 40, "patch_size": 4, "temporal_patch_size": 2,
    "spatial_merge_size": 2, "in_channels": 3, "num_position_embeddings": 64,
    "deepstack_visual_indexes": [1, 3, 4], "hidden_act": "gelu_pytorch_tanh"
  },
  "tie_word_embeddings": false
}`

// syntheticTensors lists, independently of the loader, every tensor a
// Hugging Face Qwen3-VL vision tower of this config holds, with its shape.
func syntheticTensors(v *config.Vision) map[string][]int {
	h, inter, unit, out := v.HiddenSize, v.IntermediateSize, v.SpatialMergeSize*v.SpatialMergeSize, v.OutHiddenSize
	m := map[string][]int{
		"model.visual.patch_embed.proj.weight":  {h, v.InChannels, v.TemporalPatchSize, v.PatchSize, v.PatchSize},
		"model.visual.patch_embed.proj.bias":    {h},
		"model.visual.pos_embed.weight":         {v.NumPositionEmbeddings, h},
		"model.visual.merger.norm.weight":       {h},
		"model.visual.merger.norm.bias":         {h},
		"model.visual.merger.linear_fc1.weight": {unit * h, unit * h},
		"model.visual.merger.linear_fc1.bias":   {unit * h},
		"model.visual.merger.linear_fc2.weight": {out, unit * h},
		"model.visual.merger.linear_fc2.bias":   {out},
	}
	for i := 0; i < v.Depth; i++ {
		p := fmt.Sprintf("model.visual.blocks.%d.", i)
		for name, shape := range map[string][]int{
			"norm1.weight": {h}, "norm1.bias": {h}, "norm2.weight": {h}, "norm2.bias": {h},
			"attn.qkv.weight": {3 * h, h}, "attn.qkv.bias": {3 * h},
			"attn.proj.weight": {h, h}, "attn.proj.bias": {h},
			"mlp.linear_fc1.weight": {inter, h}, "mlp.linear_fc1.bias": {inter},
			"mlp.linear_fc2.weight": {h, inter}, "mlp.linear_fc2.bias": {h},
		} {
			m[p+name] = shape
		}
	}
	for k := range v.DeepstackIndexes {
		p := fmt.Sprintf("model.visual.deepstack_merger_list.%d.", k)
		for name, shape := range map[string][]int{
			"norm.weight": {unit * h}, "norm.bias": {unit * h},
			"linear_fc1.weight": {unit * h, unit * h}, "linear_fc1.bias": {unit * h},
			"linear_fc2.weight": {out, unit * h}, "linear_fc2.bias": {out},
		} {
			m[p+name] = shape
		}
	}
	return m
}

// syntheticTower returns the parsed synthetic config and random weights for it.
func syntheticTower(t *testing.T) (*config.Model, weights.MapSource) {
	t.Helper()
	cfg, err := config.Parse([]byte(syntheticConfig))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	src := weights.MapSource{}
	for name, shape := range syntheticTensors(&cfg.Vision) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(rng.NormFloat64() * 0.2)
		}
		if strings.HasSuffix(name, "norm1.weight") || strings.HasSuffix(name, "norm2.weight") || strings.HasSuffix(name, "norm.weight") {
			for i := range vals {
				vals[i] += 1
			}
		}
		src[name] = safetensors.F32Tensor(name, shape, vals)
	}
	return cfg, src
}

func TestEncoderFollowsConfig(t *testing.T) {
	cfg, src := syntheticTower(t)
	enc, err := LoadEncoder(context.Background(), src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const gridH, gridW = 8, 12
	patches := make([]float32, gridH*gridW*cfg.Vision.PatchDim())
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range patches {
		patches[i] = float32(rng.Float64()*2 - 1)
	}
	var blocks []string
	out, err := enc.EncodeTrace(context.Background(), patches, gridH, gridW, func(stage string, data []float32, rows, cols int) {
		if strings.HasPrefix(stage, "block_out.") {
			blocks = append(blocks, stage)
		}
		wantCols := 48
		if stage == "rot_cos" || stage == "rot_sin" {
			wantCols = 16
		}
		if rows != gridH*gridW || cols != wantCols || len(data) != rows*cols {
			t.Errorf("trace %s: [%d, %d] with %d values, want [%d, %d]", stage, rows, cols, len(data), gridH*gridW, wantCols)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"block_out.0", "block_out.1", "block_out.2", "block_out.3", "block_out.4"}; !slices.Equal(blocks, want) {
		t.Errorf("traced blocks %v, want %v", blocks, want)
	}
	tokens := gridH * gridW / 4
	if out.Tokens != tokens || len(out.ImageEmbeds) != tokens*40 || len(out.DeepstackEmbeds) != 3*tokens*40 {
		t.Fatalf("tokens %d, image_embeds %d, deepstack %d values; want %d, %d, %d",
			out.Tokens, len(out.ImageEmbeds), len(out.DeepstackEmbeds), tokens, tokens*40, 3*tokens*40)
	}
	if !allFinite(out.ImageEmbeds) || !allFinite(out.DeepstackEmbeds) {
		t.Fatal("non-finite output")
	}
	// Each DeepStack level has its own merger and source block: no two
	// levels may coincide, and none may be left unwritten (all zero).
	per := tokens * 40
	for k := 0; k < 3; k++ {
		lvl := out.DeepstackEmbeds[k*per : (k+1)*per]
		if !slices.ContainsFunc(lvl, func(v float32) bool { return v != 0 }) {
			t.Errorf("DeepStack level %d is all zero", k)
		}
		for j := 0; j < k; j++ {
			if slices.Equal(lvl, out.DeepstackEmbeds[j*per:(j+1)*per]) {
				t.Errorf("DeepStack levels %d and %d are identical", j, k)
			}
		}
	}
}

func TestLoadEncoderErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(cfg *config.Model, src weights.MapSource)
		want   []string
	}{
		{"missing tensor", func(_ *config.Model, src weights.MapSource) {
			delete(src, "model.visual.blocks.3.attn.qkv.bias")
		}, []string{`"model.visual.blocks.3.attn.qkv.bias"`, "missing"}},
		{"missing DeepStack merger", func(_ *config.Model, src weights.MapSource) {
			delete(src, "model.visual.deepstack_merger_list.2.norm.weight")
		}, []string{`"model.visual.deepstack_merger_list.2.norm.weight"`, "missing"}},
		{"mis-shaped linear", func(_ *config.Model, src weights.MapSource) {
			n := "model.visual.deepstack_merger_list.2.linear_fc1.weight"
			src[n] = safetensors.F32Tensor(n, []int{192, 190}, make([]float32, 192*190))
		}, []string{`"model.visual.deepstack_merger_list.2.linear_fc1.weight"`, "[192 190]", "[192 192]"}},
		{"mis-shaped patch embed", func(_ *config.Model, src weights.MapSource) {
			n := "model.visual.patch_embed.proj.weight"
			src[n] = safetensors.F32Tensor(n, []int{48, 3, 1, 4, 4}, make([]float32, 48*3*4*4))
		}, []string{`"model.visual.patch_embed.proj.weight"`, "[48 3 1 4 4]", "[48 3 2 4 4]"}},
		{"main merger norm over the concat", func(_ *config.Model, src weights.MapSource) {
			n := "model.visual.merger.norm.weight"
			src[n] = safetensors.F32Tensor(n, []int{192}, make([]float32, 192))
		}, []string{`"model.visual.merger.norm.weight"`, "[192]", "[48]"}},
		{"unknown activation", func(cfg *config.Model, _ weights.MapSource) {
			cfg.Vision.HiddenAct = "relu6"
		}, []string{`"relu6"`, "hidden_act"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, src := syntheticTower(t)
			c.mutate(cfg, src)
			_, err := LoadEncoder(context.Background(), src, cfg)
			if err == nil {
				t.Fatal("LoadEncoder succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

// TestLadderCatchesGELUSwaps proves the ladder tolerance is tight enough for
// the subtlest known mistakes: the block MLP with the exact GELU, or the
// mergers with the tanh GELU, must fail the image_embeds comparison.
func TestLadderCatchesGELUSwaps(t *testing.T) {
	ck, err := bundle.OpenCheckpoint(tinyADir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	gold := openGolden(t, tinyAVisionGold)
	patches, _ := goldenF32(t, gold, "image1.patches")
	want, _ := goldenF32(t, gold, "image1.image_embeds")
	for _, c := range []struct {
		name string
		swap func(*towerShape)
	}{
		{"block MLP with erf GELU", func(s *towerShape) { s.act = kernels.GELUErf }},
		{"mergers with tanh GELU", func(s *towerShape) { s.mergerAct = kernels.GELUTanh }},
	} {
		enc, err := LoadEncoder(context.Background(), ck.Tensors, ck.Config)
		if err != nil {
			t.Fatal(err)
		}
		c.swap(&enc.shape)
		out, err := enc.Encode(context.Background(), patches, 28, 28)
		if err != nil {
			t.Fatal(err)
		}
		cos, rel := ladderDiff(out.ImageEmbeds, want)
		t.Logf("%s: cosine %.9f, max|diff|/max|golden| %.2g", c.name, cos, rel)
		// The ladder must reject it with a clear margin, not by luck.
		if rel <= 5*maxRelAbsDiff {
			t.Errorf("%s: relative max diff %.2g is within 5× the ladder tolerance %.0e", c.name, rel, maxRelAbsDiff)
		}
	}
}
