package kernels

import "math"

// Activations and softmax. The vision tower applies GELU to ~77 million
// values per image and softmax to ~236 million attention scores, so these
// run on a vectorized float32 exp (act_amd64.s) rather than float64
// math.Exp; goExpf is the same algorithm for the portable path and tails.

const (
	expHi    = 88.37626 // above this exp gives +Inf (2^k must stay normal)
	expLo    = -86.9    // below this exp is under 2⁻¹²⁵: flushed to 0
	geluA    = 2 * 0.7978845608028654
	geluB    = geluA * 0.044715
	expMagic = 12582912.0 // 1.5·2²³: adding it rounds to an integer
)

// goExpf is Cephes' expf: k = round(y·log2 e), r = y − k·ln2 (ln2 split in
// two so the reduction is exact), a degree-7 polynomial for exp(r), and
// 2^k applied through the exponent bits. About 2 ulp.
func goExpf(y float32) float32 {
	if y != y {
		return y
	}
	if y < expLo {
		return 0
	}
	if y > expHi {
		return float32(math.Inf(1))
	}
	t := y*1.44269504088896341 + expMagic
	k := t - expMagic
	r := y - k*0.693359375
	r = r - k*-2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	e := p*(r*r) + r + 1
	return math.Float32frombits(math.Float32bits(e) + uint32(int32(k))<<23)
}

// sigmoidMul sets x[i] = x[i]·σ(a·x[i] + b·x[i]³).
func sigmoidMul(x []float32, a, b float32) {
	n8 := 0
	if actAsm() {
		n8 = len(x) &^ 7
		if n8 > 0 {
			sigmoidMulAsm(&x[0], n8, a, b)
		}
	}
	for i := n8; i < len(x); i++ {
		v := x[i]
		x[i] = v / (1 + goExpf(-(a+b*v*v)*v))
	}
}

func softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	n8 := 0
	if actAsm() {
		n8 = len(x) &^ 7
	}
	m := float32(math.Inf(-1))
	if n8 > 0 {
		m = maxAsm(&x[0], n8)
	}
	for _, v := range x[n8:] {
		m = max(m, v)
	}
	var sum float32
	if n8 > 0 {
		sum = expSubSumAsm(&x[0], n8, m)
	}
	for i := n8; i < len(x); i++ {
		x[i] = goExpf(x[i] - m)
		sum += x[i]
	}
	inv := 1 / sum
	if n8 > 0 {
		scaleAsm(&x[0], n8, inv)
	}
	for i := n8; i < len(x); i++ {
		x[i] *= inv
	}
}
