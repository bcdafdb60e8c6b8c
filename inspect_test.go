package vlmrt_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// TestInspectFindsProblems: a checkpoint missing a tensor and holding a
// mis-shaped one is reported with both problems, without loading weights.
func TestInspectFindsProblems(t *testing.T) {
	src, err := safetensors.Open("testdata/tiny-a/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []safetensors.Tensor
	for _, name := range src.Names() {
		tn, _ := src.Tensor(name)
		switch name {
		case "model.language_model.norm.weight":
			continue // missing
		case "model.language_model.layers.0.self_attn.q_norm.weight":
			tn.Shape, tn.Data = []int{16}, tn.Data[:32] // mis-shaped
		}
		out = append(out, tn)
	}
	dir := t.TempDir()
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), out, nil); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile("testdata/tiny-a/config.json")
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	r, err := vlmrt.Inspect(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`missing tensor "model.language_model.norm.weight"`,
		`no tokenizer.json found (prompts cannot be tokenized)`,
		`tensor "model.language_model.layers.0.self_attn.q_norm.weight" has shape [16], want [32]`,
	}
	slices.Sort(r.Problems)
	slices.Sort(want)
	if !slices.Equal(r.Problems, want) {
		t.Fatalf("problems:\n%q\nwant\n%q", r.Problems, want)
	}
	if _, err := vlmrt.Open(context.Background(), dir); err == nil {
		t.Fatal("Open must refuse the broken checkpoint")
	}
}
