package vision

import "math"

// rotaryTables builds the vision tower's 2D rotary cos/sin tables
// [gridH*gridW, headDim] in block-major patch order. A head of width d
// carries d/2 angles: d/4 frequencies inv[i] = theta^(-2i/(d/2)) applied to
// the patch row, then the same d/4 applied to the patch column; the d/2
// angles are then duplicated so that lane j and lane j+d/2 share an angle
// (the rotate-half layout of Hugging Face's Qwen3VLVisionModel.rot_pos_emb).
// Computed in float64 and rounded once.
func rotaryTables(gridH, gridW, merge, headDim int, theta float64) (cos, sin []float32) {
	half, quarter := headDim/2, headDim/4
	inv := make([]float64, quarter)
	for i := range inv {
		inv[i] = 1 / math.Pow(theta, float64(2*i)/float64(half))
	}
	n := gridH * gridW
	cos, sin = make([]float32, n*headDim), make([]float32, n*headDim)
	for p := 0; p < n; p++ {
		r, c := patchOrigin(p, gridW, merge)
		cp, sp := cos[p*headDim:(p+1)*headDim], sin[p*headDim:(p+1)*headDim]
		for i, f := range inv {
			for _, a := range [2]struct {
				lane int
				pos  int
			}{{i, r}, {quarter + i, c}} {
				s, co := math.Sincos(float64(a.pos) * f)
				cp[a.lane], cp[a.lane+half] = float32(co), float32(co)
				sp[a.lane], sp[a.lane+half] = float32(s), float32(s)
			}
		}
	}
	return cos, sin
}
