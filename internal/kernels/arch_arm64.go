//go:build !noasm

package kernels

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

// No matrix-matrix micro-kernel here yet: the products run the
// dot-product tiles (dot4x3) instead.
func gemmNR() int { return 0 }

func gemmTile(c *float32, cs int, w *[gemmMR]*float32, xp *float32, k, chunk int, wide bool) {}

func transposeAsm(dst *float32, ds int, src *float32, ss int, rows, cols int) {}

func dequantRowsAsm(dst *float32, ds int, q *int8, qs int, scales *uint16, ss, rows, blocks, pf int) {
}

// No vectorized activations here: softmax and the sigmoid-based activations
// take their portable path (actAsm is false, so these are unreachable).
func actAsm() bool { return false }

func expSubSumAsm(x *float32, n int, m float32) float32 { return 0 }
func sigmoidMulAsm(x *float32, n int, a, b float32)     {}
func maxAsm(x *float32, n int) float32                  { return 0 }
func scaleAsm(x *float32, n int, s float32)             {}

// Implemented in f32_arm64.s: the FMA peak probe (every arm64 CPU has NEON).

//go:noescape
func fmaPeakNEON(iters int)

func fmaPeak(iters int) { fmaPeakNEON(iters) }

func fmaPeakFLOPs() int { return 192 }

func peakPath() string { return PathNEON }
