package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Activation tolerance: the fast paths evaluate exp's argument t in float32
// (a few roundings, relative error ≤ 3u) and exp itself to ~2 ulp, so
// exp(t) carries a relative error of about (|t|·3 + 3)·u: an error δ in t
// becomes a relative error δ in exp(t). The remaining division and
// products add a few u. Where exp under- or overflows (|t| ≳ 87) the
// factor exp(t) or σ(t) is off by at most 2⁻¹²⁵ absolutely, scaled by the
// factor it multiplies (x for the activations, 1 for softmax).
//
// ref.go's own error counts too: it forms 1 + tanh(z) in float64, which
// loses everything below 2⁻⁵³ (GELU(−7.5) comes out as 0 instead of
// −2.7e-18), so the activations also allow |x|·2⁻⁵³.
func actTol(ref float32, arg, scale float64) float64 {
	tol := 0x1p-125*max(1, math.Abs(scale)) + 0x1p-53*math.Abs(scale)
	if ref != 0 {
		tol += (3*math.Abs(arg) + 8) * unit * math.Abs(float64(ref))
	}
	return tol
}

func actInputs(rng *rand.Rand) [][]float32 {
	var out [][]float32
	for _, n := range []int{0, 1, 5, 8, 13, 64, 100, 1027} {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 4)
		}
		out = append(out, v)
	}
	// Extremes: far tails, exp's clamp points, zeros.
	out = append(out, []float32{-200, -100, -88.5, -88.3, -87, -86.8, -30, -10, -1e-3, 0, 1e-3, 10, 30, 87, 88.3, 88.5, 100, 200})
	return out
}

func TestActivations(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		cases := []struct {
			name string
			fast func([]float32)
			ref  func([]float32)
			arg  func(x float64) float64 // the exp argument the fast path uses
		}{
			{"SiLU", SiLU, refSiLU, func(x float64) float64 { return x }},
			{"GELUTanh", GELUTanh, refGELUTanh, func(x float64) float64 { return geluA * (x + 0.044715*x*x*x) }},
		}
		for _, c := range cases {
			for _, in := range actInputs(rng) {
				got := append([]float32(nil), in...)
				want := append([]float32(nil), in...)
				c.fast(got)
				c.ref(want)
				for i := range in {
					tol := actTol(want[i], c.arg(float64(in[i])), float64(in[i]))
					if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
						t.Fatalf("%s(%v) = %v, ref %v (difference %.3g > %.3g)", c.name, in[i], got[i], want[i], d, tol)
					}
				}
			}
		}
	})
}

func TestSoftmax(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		inputs := actInputs(rng)
		inputs = append(inputs, []float32{3, float32(math.Inf(-1)), 1, float32(math.Inf(-1)), 2, 0, 0, 0, 5})
		for _, in := range inputs {
			got := append([]float32(nil), in...)
			want := append([]float32(nil), in...)
			Softmax(got)
			refSoftmax(want)
			m := math.Inf(-1)
			for _, v := range in {
				m = max(m, float64(v))
			}
			// exp's own error (see actTol) plus the float32 sum of n
			// values in 8 lanes: depth n/8 + 3.
			for i := range in {
				tol := actTol(want[i], float64(in[i])-m, 0) + gamma(len(in)/8+4)*math.Abs(float64(want[i]))
				if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
					t.Fatalf("n=%d Softmax[%d] (x=%v) = %v, ref %v (difference %.3g > %.3g)", len(in), i, in[i], got[i], want[i], d, tol)
				}
			}
		}
	})
}

func TestExpf(t *testing.T) {
	// goExpf against float64 exp over its range, including the clamps.
	for _, y := range []float32{-86.8, -50, -10, -1, -0.5, -1e-6, 0, 1e-6, 0.34, 0.35, 1, 10, 50, 88, 88.37} {
		got, want := float64(goExpf(y)), math.Exp(float64(y))
		if d := math.Abs(got-want) / want; d > 4*unit {
			t.Errorf("goExpf(%v) = %v, exp %v: relative error %.3g", y, got, want, d)
		}
	}
	if goExpf(-87) != 0 || goExpf(-1000) != 0 || !math.IsInf(float64(goExpf(88.4)), 1) {
		t.Errorf("goExpf past the clamps: %v, %v, %v", goExpf(-87), goExpf(-1000), goExpf(88.4))
	}
	if v := goExpf(float32(math.NaN())); v == v {
		t.Errorf("goExpf(NaN) = %v", v)
	}
}
