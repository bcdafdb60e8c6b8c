//go:build !noasm

package kernels

import "unsafe"

// Every arm64 CPU has NEON (Advanced SIMD is mandatory in ARMv8-A), so
// the assembly runs unless VLMRT_CPU=generic asks for the pure-Go path; the
// kernels use only base ARMv8.0 instructions.
var haveAsm = true

func archPaths() []string { return []string{PathNEON, PathGeneric} }

func setArchPath(p string) { haveAsm = p == PathNEON }

// Implemented in q8_arm64.s and f32_arm64.s.

//go:noescape
func matVecQ8NEON(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int)

//go:noescape
func dequantQ8NEON(dst *float32, q *int8, scales *uint16, blocks int)

//go:noescape
func dot4x3NEON(out *float32, x0, x1, x2, x3, w0, w1, w2 *float32, k int)

//go:noescape
func dotNEON(a, b *float32, n int) float32

//go:noescape
func axpyNEON(y *float32, a float32, x *float32, n int)

func matVecQ8Blocks(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int) {
	matVecQ8NEON(y, q, scales, x, rows, blocks, rowBytes, scaleStride)
}

func dequantQ8Blocks(dst *float32, q *int8, scales *uint16, blocks int) {
	dequantQ8NEON(dst, q, scales, blocks)
}

func dot4x3Asm(out *[12]float32, x *[4]*float32, w *[3]*float32, k int) {
	dot4x3NEON(&out[0], x[0], x[1], x[2], x[3], w[0], w[1], w[2], k)
}

func dotAsm(a, b *float32, n int) float32 { return dotNEON(a, b, n) }

func axpyAsm(y *float32, a float32, x *float32, n int) { axpyNEON(y, a, x, n) }

// Implemented in gemm_arm64.s (asmgen/gemmneon.py): the matrix-matrix
// micro-kernels of the packed and weight-panel products, panels of 16
// activation rows (8 for a ragged last panel).

//go:noescape
func gemm6x16NEON(c *float32, cstride int, w0, w1, w2, w3, w4, w5 *float32, xp *float32, k, chunk int)

//go:noescape
func gemm6x8NEON(c *float32, cstride int, w0, w1, w2, w3, w4, w5 *float32, xp *float32, k, chunk int)

// gemmNR is the activation panel width of the matrix-matrix micro-kernel
// (0 on the generic path: the dot-product tiles run).
func gemmNR() int {
	if haveAsm {
		return 16
	}
	return 0
}

// gemmTile runs the micro-kernel on a panel gemmNR() wide, or half that
// when !wide (the last panel of a ragged n).
func gemmTile(c *float32, cs int, w *[gemmMR]*float32, xp *float32, k, chunk int, wide bool) {
	if wide {
		gemm6x16NEON(c, cs, w[0], w[1], w[2], w[3], w[4], w[5], xp, k, chunk)
	} else {
		gemm6x8NEON(c, cs, w[0], w[1], w[2], w[3], w[4], w[5], xp, k, chunk)
	}
}

//go:noescape
func transpose4NEON(dst *float32, dstStride int, src *float32, srcStride int, rows, cols int)

// transposeAsm writes dst[c·ds + r] = src[r·ss + c] for r < rows, c <
// cols (multiples of 8) in 4×4 blocks.
func transposeAsm(dst *float32, ds int, src *float32, ss int, rows, cols int) {
	transpose4NEON(dst, ds, src, ss, rows, cols)
}

// dequantRowsAsm widens rows rows of blocks int8 blocks each (q rows qs
// bytes apart, their float16 scales ss apart) into dst (rows ds floats
// apart), one NEON call per row.
func dequantRowsAsm(dst *float32, ds int, q *int8, qs int, scales *uint16, ss, rows, blocks, pf int) {
	for r := range rows {
		dequantQ8NEON((*float32)(unsafe.Add(unsafe.Pointer(dst), 4*r*ds)), (*int8)(unsafe.Add(unsafe.Pointer(q), r*qs)),
			(*uint16)(unsafe.Add(unsafe.Pointer(scales), 2*r*ss)), blocks)
	}
}

// The activations and softmax in NEON (act_arm64.s, asmgen/actneon.py):
// goExpf's algorithm 4 lanes at a time, as act_amd64.s runs it 8.
func actAsm() bool { return haveAsm }

//go:noescape
func expSubSumNEON(x *float32, n int, m float32) float32

//go:noescape
func sigmoidMulNEON(x *float32, n int, a, b float32)

//go:noescape
func maxNEON(x *float32, n int) float32

//go:noescape
func scaleNEON(x *float32, n int, s float32)

func expSubSumAsm(x *float32, n int, m float32) float32 { return expSubSumNEON(x, n, m) }
func sigmoidMulAsm(x *float32, n int, a, b float32)     { sigmoidMulNEON(x, n, a, b) }
func maxAsm(x *float32, n int) float32                  { return maxNEON(x, n) }
func scaleAsm(x *float32, n int, s float32)             { scaleNEON(x, n, s) }

// Implemented in f32_arm64.s: the FMA peak probe (every arm64 CPU has NEON).

//go:noescape
func fmaPeakNEON(iters int)

func fmaPeak(iters int) { fmaPeakNEON(iters) }

func fmaPeakFLOPs() int { return 192 }

func peakPath() string { return PathNEON }

// readXorAsm XORs n bytes (a multiple of 128) into one word; the pure-Go
// read is fast enough to keep up with memory here.
func readXorAsm(p *byte, n int) uint64 { return goReadXor(unsafe.Slice(p, n)) }
