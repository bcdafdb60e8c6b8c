// Package kernels holds the CPU math primitives the model packages are built
// from: int8 and float32 matrix products, norms, activations. The model code
// (decoder/, vision/) says *what* is computed; this package decides *how*
// fast. Every optimized kernel is tested against the scalar reference in
// ref.go.
//
// Layout conventions: matrices are row-major. A weight matrix W is
// [rows = outputs, cols = inputs]; activations X are [n, cols]; products
// are Y[n, rows] = X · Wᵀ.
//
// The matrix products run on the caller's Pool of threads (the Pool
// methods; the package functions run on the caller alone), split by output
// rows. On amd64 with AVX2+FMA+F16C
// and on arm64 they use assembly; elsewhere, and with the build tag noasm,
// pure Go. Fast paths sum in a different order than ref.go, so results
// agree with it to float32 rounding, not bit for bit.
//
// Shape mismatches between the slices and the stated dimensions are bugs in
// the caller and panic with the shapes named, before any assembly runs.
package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// MatVecQ8 computes y[r] = Σ_c deq(W)[r,c]·x[c] for every row r.
func MatVecQ8(y []float32, w *quant.Matrix, x []float32) { (*Pool)(nil).MatVecQ8(y, w, x) }

// MatVecQ8 is the package's MatVecQ8 on the pool's threads.
func (p *Pool) MatVecQ8(y []float32, w *quant.Matrix, x []float32) {
	checkQ8(y, w, x, 1)
	matVecQ8(p, y, w, x)
}

// MatMulQ8 computes Y[n, w.Rows] = X[n, w.Cols] · deq(W)ᵀ.
func MatMulQ8(y []float32, w *quant.Matrix, x []float32, n int) {
	(*Pool)(nil).MatMulQ8(y, w, x, n)
}

// MatMulQ8 is the package's MatMulQ8 on the pool's threads.
func (p *Pool) MatMulQ8(y []float32, w *quant.Matrix, x []float32, n int) {
	checkQ8(y, w, x, n)
	switch n {
	case 0:
	case 1:
		matVecQ8(p, y, w, x)
	default:
		matMul(p, &matMulTask{y: y, wq: w, rows: w.Rows, cols: w.Cols, x: x, n: n})
	}
}

// MatMulF32 computes Y[n, rows] = X[n, cols] · Wᵀ with W [rows, cols].
func MatMulF32(y, w []float32, rows, cols int, x []float32, n int) {
	(*Pool)(nil).MatMulF32(y, w, rows, cols, x, n)
}

// MatMulF32 is the package's MatMulF32 on the pool's threads.
func (p *Pool) MatMulF32(y, w []float32, rows, cols int, x []float32, n int) {
	checkF32(y, w, rows, cols, x, n)
	switch n {
	case 0:
	case 1:
		matVecF32(p, y, w, rows, cols, x)
	default:
		if nr := gemmNR(); wpanelOK(nr, rows, n) {
			wpanel(p, wpanelTask{y: y, w: w, rows: rows, cols: cols, x: x, n: n, nr: nr})
			return
		}
		matMul(p, &matMulTask{y: y, wf: w, rows: rows, cols: cols, x: x, n: n})
	}
}

// Dot returns Σ a[i]·b[i] over len(a) elements.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	n8 := len(a) &^ 7
	if !haveAsm || n8 == 0 {
		return goDot(a, b)
	}
	s := dotAsm(&a[0], &b[0], n8)
	for i := n8; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

// Axpy computes y[i] += a·x[i] over len(x) elements.
func Axpy(y []float32, a float32, x []float32) {
	y = y[:len(x)]
	n8 := len(x) &^ 7
	if !haveAsm || n8 == 0 {
		goAxpy(y, a, x)
		return
	}
	axpyAsm(&y[0], a, &x[0], n8)
	for i := n8; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// RMSNorm writes weight·x/sqrt(mean(x²)+eps) to dst (dst may alias x).
func RMSNorm(dst, x, weight []float32, eps float32) { refRMSNorm(dst, x, weight, eps) }

// LayerNorm writes (x−mean)/sqrt(var+eps)·weight + bias to dst (dst may alias x).
func LayerNorm(dst, x, weight, bias []float32, eps float32) { refLayerNorm(dst, x, weight, bias, eps) }

// Softmax normalizes x in place (numerically stable: exp(x − max)).
func Softmax(x []float32) { softmax(x) }

// SiLU applies x·sigmoid(x) in place.
func SiLU(x []float32) { sigmoidMul(x, 1, 0) }

// GELUTanh applies the tanh-approximated GELU in place ("gelu_pytorch_tanh"),
// computed as x·σ(2z) with z = √(2/π)·(x + 0.044715x³), which equals
// 0.5·x·(1 + tanh z).
func GELUTanh(x []float32) { sigmoidMul(x, geluA, geluB) }

// GELUErf applies the exact erf GELU in place (PyTorch nn.GELU()).
func GELUErf(x []float32) { refGELUErf(x) }

// DotF16 returns Σ a[i]·b[i] with b in IEEE float16 (a float16 KV cache).
func DotF16(a []float32, b []uint16) float32 { return refDotF16(a, b) }

// AxpyF16 computes y[i] += a·x[i] with x in IEEE float16.
func AxpyF16(y []float32, a float32, x []uint16) { refAxpyF16(y, a, x) }
