package kernels

import "github.com/vlmrt/vlmrt/internal/f16"

// Pure-Go kernels: the paths taken under -tags noasm, on CPUs without
// AVX2/FMA/F16C, and for the ragged tails the assembly leaves over. They
// sum in the same blocked order as the assembly where that is free.

// goDotQ8 returns Σ_b scale[b]·Σ_{c∈b} q[c]·x[c] over len(q) columns.
func goDotQ8(q []int8, scales []uint16, x []float32) float32 {
	var sum float32
	for b, s := range scales {
		lo, hi := b*32, min(b*32+32, len(q))
		qb, xb := q[lo:hi], x[lo:hi]
		var a0, a1, a2, a3 float32
		c := 0
		for ; c+4 <= len(qb); c += 4 {
			a0 += float32(qb[c]) * xb[c]
			a1 += float32(qb[c+1]) * xb[c+1]
			a2 += float32(qb[c+2]) * xb[c+2]
			a3 += float32(qb[c+3]) * xb[c+3]
		}
		for ; c < len(qb); c++ {
			a0 += float32(qb[c]) * xb[c]
		}
		sum += ((a0 + a1) + (a2 + a3)) * f16.ToF32(s)
	}
	return sum
}

// goDotQ8Each computes goDotQ8(q, scales, x[b·len(q):]) for the n ≤
// eachGroup vectors of x (rows of len(q)) into sums[:n], bit for bit: each
// block is converted to float32 once (the conversion is exact, so the
// products are goDotQ8's), then every vector runs goDotQ8's loop on it.
func goDotQ8Each(sums *[eachGroup]float32, q []int8, scales []uint16, x []float32, n int) {
	*sums = [eachGroup]float32{}
	cols := len(q)
	var wq [32]float32
	for b, s := range scales {
		lo, hi := b*32, min(b*32+32, cols)
		wb := wq[:hi-lo]
		for c, v := range q[lo:hi] {
			wb[c] = float32(v)
		}
		f := f16.ToF32(s)
		for i := 0; i < n; i++ {
			xb := x[i*cols+lo : i*cols+hi]
			xb = xb[:len(wb)]
			var a0, a1, a2, a3 float32
			c := 0
			for ; c+4 <= len(wb); c += 4 {
				a0 += wb[c] * xb[c]
				a1 += wb[c+1] * xb[c+1]
				a2 += wb[c+2] * xb[c+2]
				a3 += wb[c+3] * xb[c+3]
			}
			for ; c < len(wb); c++ {
				a0 += wb[c] * xb[c]
			}
			sums[i] += ((a0 + a1) + (a2 + a3)) * f
		}
	}
}

// goDequantQ8 widens len(q) values: dst[c] = q[c]·scale[c/32].
func goDequantQ8(dst []float32, q []int8, scales []uint16) {
	for b, s := range scales {
		f := f16.ToF32(s)
		lo, hi := b*32, min(b*32+32, len(q))
		for c := lo; c < hi; c++ {
			dst[c] = float32(q[c]) * f
		}
	}
}

// goDot4x3 is the portable micro-kernel: out[j*4+i] = Σ_{c<k} x[i][c]·w[j][c].
func goDot4x3(out *[12]float32, x *[4][]float32, w *[3][]float32, k int) {
	x0, x1, x2, x3 := x[0][:k], x[1][:k], x[2][:k], x[3][:k]
	w0, w1, w2 := w[0][:k], w[1][:k], w[2][:k]
	var s [12]float32
	for c := range x0 {
		a0, a1, a2, a3 := x0[c], x1[c], x2[c], x3[c]
		b0, b1, b2 := w0[c], w1[c], w2[c]
		s[0] += a0 * b0
		s[1] += a1 * b0
		s[2] += a2 * b0
		s[3] += a3 * b0
		s[4] += a0 * b1
		s[5] += a1 * b1
		s[6] += a2 * b1
		s[7] += a3 * b1
		s[8] += a0 * b2
		s[9] += a1 * b2
		s[10] += a2 * b2
		s[11] += a3 * b2
	}
	*out = s
}

func goDot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func goAxpy(y []float32, a float32, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}
