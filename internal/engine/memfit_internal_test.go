package engine

import (
	"testing"

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
