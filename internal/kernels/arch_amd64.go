//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// The kernel paths on amd64, best first. AVX2+FMA+F16C is the base of
// every assembly kernel (F16C widens the int8 block scales); AVX-512
// (F+BW+VL) adds the 512-bit int8 matrix-vector product that decode spends
// its time in. Without AVX2 (old or emulated CPUs) the pure-Go paths run.
var (
	cpuAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	cpuAVX512 = cpuAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
)

// archPaths lists the paths this CPU supports, best first.
func archPaths() []string {
	var p []string
	if cpuAVX512 {
		p = append(p, PathAVX512)
	}
	if cpuAVX2 {
		p = append(p, PathAVX2)
	}
	return append(p, PathGeneric)
}

// haveAsm selects the AVX2 kernels, useAVX512 the 512-bit ones on top;
// setPath sets both.
var haveAsm, useAVX512 bool

func setArchPath(p string) {
	haveAsm = p == PathAVX2 || p == PathAVX512
	useAVX512 = p == PathAVX512
}

// Implemented in q8_amd64.s and f32_amd64.s.

//go:noescape
func matVecQ8AVX2(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int)

//go:noescape
func dequantQ8AVX2(dst *float32, q *int8, scales *uint16, blocks int)

//go:noescape
func dot4x3AVX2(out *float32, x0, x1, x2, x3, w0, w1, w2 *float32, k int)

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func axpyAVX2(y *float32, a float32, x *float32, n int)

//go:noescape
func matVecQ8AVX512(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int)

func matVecQ8Blocks(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int) {
	if useAVX512 {
		matVecQ8AVX512(y, q, scales, x, rows, blocks, rowBytes, scaleStride)
		return
	}
	matVecQ8AVX2(y, q, scales, x, rows, blocks, rowBytes, scaleStride)
}

func dequantQ8Blocks(dst *float32, q *int8, scales *uint16, blocks int) {
	dequantQ8AVX2(dst, q, scales, blocks)
}

func dot4x3Asm(out *[12]float32, x *[4]*float32, w *[3]*float32, k int) {
	dot4x3AVX2(&out[0], x[0], x[1], x[2], x[3], w[0], w[1], w[2], k)
}

func dotAsm(a, b *float32, n int) float32 { return dotAVX2(a, b, n) }

func axpyAsm(y *float32, a float32, x *float32, n int) { axpyAVX2(y, a, x, n) }

// The activation kernels need the same features as the matrix ones.
func actAsm() bool { return haveAsm }

// Implemented in act_amd64.s.

//go:noescape
func expSubSumAVX2(x *float32, n int, m float32) float32

//go:noescape
func sigmoidMulAVX2(x *float32, n int, a, b float32)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

func expSubSumAsm(x *float32, n int, m float32) float32 { return expSubSumAVX2(x, n, m) }
func sigmoidMulAsm(x *float32, n int, a, b float32)     { sigmoidMulAVX2(x, n, a, b) }
func maxAsm(x *float32, n int) float32                  { return maxAVX2(x, n) }
func scaleAsm(x *float32, n int, s float32)             { scaleAVX2(x, n, s) }

// Implemented in peak_amd64.s: the FMA peak probe, on the CPU's widest
// vectors whatever path the kernels run.

//go:noescape
func fmaPeakAVX512(iters int)

//go:noescape
func fmaPeakAVX2(iters int)

func fmaPeak(iters int) {
	switch {
	case cpuAVX512:
		fmaPeakAVX512(iters)
	case cpuAVX2:
		fmaPeakAVX2(iters)
	default:
		goFMAPeak(iters)
	}
}

func fmaPeakFLOPs() int {
	switch {
	case cpuAVX512:
		return 512
	case cpuAVX2:
		return 192
	}
	return goFMAPeakFLOPs
}

func peakPath() string { return archPaths()[0] }
