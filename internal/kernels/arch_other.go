//go:build noasm || !(amd64 || arm64)

package kernels

import "unsafe"

// Without assembly every kernel takes its pure-Go path; these stand-ins
// keep the shared code compiling and are correct if ever reached.
const haveAsm = false

func archPaths() []string { return []string{PathGeneric} }

func setArchPath(string) {}

func matVecQ8Blocks(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int) {
	for r := 0; r < rows; r++ {
		qs := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(q), r*rowBytes)), blocks*32)
		ss := unsafe.Slice((*uint16)(unsafe.Add(unsafe.Pointer(scales), r*scaleStride)), blocks)
		*(*float32)(unsafe.Add(unsafe.Pointer(y), 4*r)) = goDotQ8(qs, ss, unsafe.Slice(x, blocks*32))
	}
}

func dequantQ8Blocks(dst *float32, q *int8, scales *uint16, blocks int) {
	goDequantQ8(unsafe.Slice(dst, blocks*32), unsafe.Slice(q, blocks*32), unsafe.Slice(scales, blocks))
}

func dot4x3Asm(out *[12]float32, x *[4]*float32, w *[3]*float32, k int) {
	var xs [4][]float32
	var ws [3][]float32
	for i := range xs {
		xs[i] = unsafe.Slice(x[i], k)
	}
	for j := range ws {
		ws[j] = unsafe.Slice(w[j], k)
	}
	goDot4x3(out, &xs, &ws, k)
}

func dotAsm(a, b *float32, n int) float32 { return goDot(unsafe.Slice(a, n), unsafe.Slice(b, n)) }

func axpyAsm(y *float32, a float32, x *float32, n int) {
	goAxpy(unsafe.Slice(y, n), a, unsafe.Slice(x, n))
}

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

func matVecQ8EachBlocks(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride, n, xStride, yStride int) {
	for ; n > 0; n-- {
		matVecQ8Blocks(y, q, scales, x, rows, blocks, rowBytes, scaleStride)
		if n > 1 { // not past the last vector: checkptr rejects that
			x, y = addFloat(x, xStride), addFloat(y, yStride)
		}
	}
}

func fmaPeak(iters int) { goFMAPeak(iters) }

func fmaPeakFLOPs() int { return goFMAPeakFLOPs }

func peakPath() string { return PathGeneric }

// readXorAsm XORs n bytes (a multiple of 128) into one word; the pure-Go
// read is fast enough to keep up with memory here.
func readXorAsm(p *byte, n int) uint64 { return goReadXor(unsafe.Slice(p, n)) }
