package engine

import (
	"context"
	"testing"

	"github.com/vlmrt/vlmrt/config"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// TestResidentBytes: the pre-load estimate orders as the loaders do —
// float32 above int8, text-only below the full model — and int8 stays
// close to the checkpoint's own size (bf16 linears become int8 + scales,
// the mapped embedding is not counted).
func TestResidentBytes(t *testing.T) {
	loc, err := bundle.Resolve(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	set, err := loc.OpenWeights()
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	i8 := residentBytes(set, true, weights.Int8, false)
	f32 := residentBytes(set, true, weights.F32, false)
	text := residentBytes(set, true, weights.Int8, true)
	t.Logf("tiny-a: int8 %d bytes, f32 %d, int8 text-only %d", i8, f32, text)
	if !(text < i8 && i8 < f32) || i8 <= 0 {
		t.Fatalf("estimates out of order: int8 %d, f32 %d, text-only %d", i8, f32, text)
	}
}

// TestKVCacheInEstimate: the KV cache at the context length is counted
// (the 4B shape's float32 cache at 32768 tokens: 36 layers × 2 × 8 heads ×
// 128 × 4 bytes per token = 9.66 GB), halved in float16; scratch grows
// with the context (the attention scores row).
func TestKVCacheInEstimate(t *testing.T) {
	four := config.Text{NumLayers: 36, NumKVHeads: 8, HeadDim: 128}
	if got := KVCacheBytes(four, 32768, false); got != 9663676416 {
		t.Errorf("4B KV cache at 32768 tokens: %d bytes, want 9663676416", got)
	}
	if got := KVCacheBytes(four, 32768, true); got != 9663676416/2 {
		t.Errorf("float16: %d bytes, want half", got)
	}
	loc, err := bundle.Resolve(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loc.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if ContextLength(cfg, 0) != min(cfg.Text.MaxPositions, DefaultContextLength) || ContextLength(cfg, 100) != 100 {
		t.Errorf("context length: default %d, 100 → %d", ContextLength(cfg, 0), ContextLength(cfg, 100))
	}
	short, long := scratchBytes(cfg, 1024, true), scratchBytes(cfg, 4096, true)
	if !(0 < short && short < long) || scratchBytes(cfg, 1024, false) <= short {
		t.Errorf("scratch: %d at 1024 tokens, %d at 4096, %d with vision", short, long, scratchBytes(cfg, 1024, false))
	}
}

// TestCacheStaysWithinContext: a sequence's KV buffers grow by doubling
// but never past the context length the memory check counted.
func TestCacheStaysWithinContext(t *testing.T) {
	e, err := Open(context.Background(), "cpu", OpenRequest{Path: tinyA, Location: mustResolve(t, tinyA), Precision: weights.Int8, ContextLength: 100, NoVision: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession()
	ids := make([]int32, 70)
	for i := range ids {
		ids[i] = int32(1000 + i)
	}
	if _, err := s.Generate(context.Background(), Input{IDs: ids}, Options{MaxTokens: 20}, func(Token) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if c := s.seq.(*cpuSequence).c.Capacity(); c != 100 {
		t.Errorf("after 90 tokens the cache holds room for %d, want the context length 100 (doubling would give 140)", c)
	}
}

func mustResolve(t *testing.T, dir string) *bundle.Location {
	t.Helper()
	loc, err := bundle.Resolve(dir)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
