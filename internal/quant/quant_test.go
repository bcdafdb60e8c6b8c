package quant

import (
	"math"
	"testing"

	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// TestGoldenSamples checks the quantizer against the oracle's own q/scale/
// dequant for a decoder projection and the first 256 rows of the tied head.
func TestGoldenSamples(t *testing.T) {
	model, err := safetensors.Open("../../testdata/tiny-a/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	golden, err := safetensors.Open("../../testdata/tiny-a/golden/quant_samples.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer golden.Close()
	for _, c := range []struct{ golden, weight string }{
		{"layers.0.self_attn.q_proj", "model.language_model.layers.0.self_attn.q_proj.weight"},
		{"lm_head.rows0_255", "model.language_model.embed_tokens.weight"},
	} {
		gq, _ := golden.Tensor(c.golden + ".q")
		rows, cols := gq.Shape[0], gq.Shape[1]
		wt, err := model.Tensor(c.weight)
		if err != nil {
			t.Fatal(err)
		}
		w := make([]float32, rows*cols)
		if err := wt.Float32sInto(w, 0); err != nil {
			t.Fatal(err)
		}
		m, err := Quantize(w, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		wantQ, _ := gq.Int8s()
		gs, _ := golden.Tensor(c.golden + ".scale")
		wantS, _ := gs.Uint16s()
		gd, _ := golden.Tensor(c.golden + ".dequant")
		wantD, _ := gd.Float32s()
		qDiff, sDiff := 0, 0
		for i := range wantQ {
			if m.Q[i] != wantQ[i] {
				qDiff++
			}
		}
		for i := range wantS {
			if m.Scales[i] != wantS[i] {
				sDiff++
			}
		}
		var maxErr float64
		for i, v := range m.Dequantize() {
			maxErr = math.Max(maxErr, math.Abs(float64(v-wantD[i])))
		}
		t.Logf("%s: %d/%d q differ, %d/%d scales differ, dequant max abs err %.3g", c.golden, qDiff, len(wantQ), sDiff, len(wantS), maxErr)
		if qDiff != 0 || sDiff != 0 || maxErr != 0 {
			t.Errorf("%s: quantizer disagrees with the oracle", c.golden)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	// all-zero block → scale 0, q 0; ragged last block; ties round away from zero
	w := make([]float32, 40)
	w[33] = 127 // second block: scale 1
	w[34] = 2.5
	w[35] = -2.5
	w[36] = -127
	m, err := Quantize(w, 1, 40)
	if err != nil {
		t.Fatal(err)
	}
	if m.Scales[0] != 0 || m.Q[0] != 0 {
		t.Fatal("zero block must have scale 0")
	}
	if m.Q[34] != 3 || m.Q[35] != -3 || m.Q[33] != 127 || m.Q[36] != -127 {
		t.Fatalf("rounding: got %v", m.Q[32:37])
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := Quantize(w, 2, 40); err == nil {
		t.Fatal("size mismatch must fail")
	}
}
