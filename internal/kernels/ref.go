package kernels

import (
	"math"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// Scalar reference implementations: the definition of every kernel, used
// directly where no faster path exists and as the oracle for the fast ones.

func refMatMulQ8(y []float32, w *quant.Matrix, x []float32, n int) {
	bpr := w.BlocksPerRow()
	for i := 0; i < n; i++ {
		xi := x[i*w.Cols : (i+1)*w.Cols]
		for r := 0; r < w.Rows; r++ {
			q := w.Q[r*w.Cols : (r+1)*w.Cols]
			var sum float32
			for b := 0; b < bpr; b++ {
				var acc float32
				for c := b * quant.BlockSize; c < min((b+1)*quant.BlockSize, w.Cols); c++ {
					acc += float32(q[c]) * xi[c]
				}
				sum += acc * f16.ToF32(w.Scales[r*bpr+b])
			}
			y[i*w.Rows+r] = sum
		}
	}
}

func refMatMulF32(y, w []float32, rows, cols int, x []float32, n int) {
	for i := 0; i < n; i++ {
		xi := x[i*cols : (i+1)*cols]
		for r := 0; r < rows; r++ {
			y[i*rows+r] = refDot(w[r*cols:(r+1)*cols], xi)
		}
	}
}

func refDot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func refAxpy(y []float32, a float32, x []float32) {
	for i, v := range x {
		y[i] += a * v
	}
}

func refRMSNorm(dst, x, weight []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	inv := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		dst[i] = weight[i] * (v * inv)
	}
}

func refLayerNorm(dst, x, weight, bias []float32, eps float32) {
	var mean float64
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var vr float64
	for _, v := range x {
		d := float64(v) - mean
		vr += d * d
	}
	inv := 1 / math.Sqrt(vr/float64(len(x))+float64(eps))
	for i, v := range x {
		dst[i] = float32((float64(v)-mean)*inv)*weight[i] + bias[i]
	}
}

func refSoftmax(x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

func refSiLU(x []float32) {
	for i, v := range x {
		x[i] = v / (1 + float32(math.Exp(float64(-v))))
	}
}

func refGELUTanh(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x {
		f := float64(v)
		x[i] = float32(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
	}
}

func refGELUErf(x []float32) {
	for i, v := range x {
		f := float64(v)
		x[i] = float32(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
	}
}

func refDotF16(a []float32, b []uint16) float32 {
	var s float32
	for i, h := range b[:len(a)] {
		s += a[i] * f16.ToF32(h)
	}
	return s
}

func refAxpyF16(y []float32, a float32, x []uint16) {
	for i, h := range x[:len(y)] {
		y[i] += a * f16.ToF32(h)
	}
}
