package bundle_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

const tinyA = "../testdata/tiny-a"

// pipeline runs tiny-a's image prompt end to end from one weight source:
// the vision tower encodes the golden image's patches, the int8 decoder
// prefills the prompt and decodes greedily.
type pipelineRun struct {
	embeds, deepstack []float32
	prefillLogits     []float32
	tokens            []int32
}

func runPipeline(t *testing.T, path string, steps int) pipelineRun {
	t.Helper()
	loc, err := bundle.Resolve(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loc.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	src, err := loc.OpenWeights()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	enc, err := vision.LoadEncoder(ctx, src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decoder.Load(ctx, src, cfg, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}

	var inputs struct {
		Prompts map[string]struct {
			ExtIDs          []int32 `json:"ext_ids"`
			RopeShiftStart  int32   `json:"rope_shift_start"`
			RopeShiftAmount int32   `json:"rope_shift_amount"`
		} `json:"prompts"`
	}
	data, err := os.ReadFile(filepath.Join(tinyA, "golden", "inputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &inputs); err != nil {
		t.Fatal(err)
	}
	p := inputs.Prompts["image"]
	vf, err := safetensors.Open(filepath.Join(tinyA, "golden", "vision.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	pt, err := vf.Tensor("image1.patches")
	if err != nil {
		t.Fatal(err)
	}
	patches, _ := pt.Float32s()
	out, err := enc.Encode(ctx, patches, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	st := &decoder.Static{ImageEmbeds: out.ImageEmbeds, DeepstackEmbeds: out.DeepstackEmbeds, Slots: out.Tokens,
		RopeShiftStart: p.RopeShiftStart, RopeShiftAmount: p.RopeShiftAmount}
	run := pipelineRun{embeds: out.ImageEmbeds, deepstack: out.DeepstackEmbeds}
	cache := m.NewCache()
	logits := make([]float32, m.Vocab())
	if err := m.Forward(ctx, cache, p.ExtIDs, nil, st, decoder.LastLogits, logits); err != nil {
		t.Fatal(err)
	}
	run.prefillLogits = slices.Clone(logits)
	for i := 0; i < steps; i++ {
		next := int32(argmax(logits))
		run.tokens = append(run.tokens, next)
		if err := m.Forward(ctx, cache, []int32{next}, nil, st, decoder.LastLogits, logits); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestConvertedTinyAMatchesCheckpoint: tiny-a converted and loaded gives
// the same greedy tokens as the checkpoint quantized at load, and the same
// image embeddings and logits.
func TestConvertedTinyAMatchesCheckpoint(t *testing.T) {
	const steps = 24
	want := runPipeline(t, tinyA, steps)
	for _, exact := range []bool{false, true} {
		out := t.TempDir()
		if err := bundle.Convert(context.Background(), tinyA, out, bundle.ConvertOptions{RoundToFP16: !exact}); err != nil {
			t.Fatal(err)
		}
		got := runPipeline(t, out, steps)
		if !slices.Equal(got.tokens, want.tokens) {
			t.Fatalf("exact=%v: greedy tokens from the converted bundle\n%v\nfrom the checkpoint\n%v", exact, got.tokens, want.tokens)
		}
		diffs := []float64{maxDiff(got.embeds, want.embeds), maxDiff(got.deepstack, want.deepstack), maxDiff(got.prefillLogits, want.prefillLogits)}
		t.Logf("exact=%v: greedy tokens identical %v; max |diff| image_embeds %g, deepstack %g, prefill logits %g", exact, got.tokens, diffs[0], diffs[1], diffs[2])
		if exact && !(slices.Equal(got.embeds, want.embeds) && slices.Equal(got.deepstack, want.deepstack) && slices.Equal(got.prefillLogits, want.prefillLogits)) {
			t.Errorf("exact (default) conversion: the converted bundle does not compute bit-identically to the checkpoint")
		}
	}
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}
