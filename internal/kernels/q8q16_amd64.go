//go:build !noasm

package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// The int8×int16 kernels (asmgen/q8q16.py): on the AVX-512 path,
// lane-grouped VPDPWSSD (VNNI) or VPMADDWD + VPADDD (AVX-512BW alone) over
// activations stored lane-grouped, and for one vector (decode) a kernel
// widening 256 bits at a time over activations in order that computes the
// same sums (q8q16r1x1Y: it streams weights from memory faster); on the
// AVX2 path, VPMADDWD with 256-bit registers over activations in order (on
// the avxvnni path, for 2..4 vectors, with VEX VPDPWSSD adding each block's
// second half; one vector takes the AVX2 kernel there too).

// Q8Q16Path names the int8×int16 kernels the active path runs.
func Q8Q16Path() string {
	switch {
	case useVNNI:
		return PathAVX512VNNI
	case useAVX512:
		return PathAVX512
	case useAVXVNNI:
		return PathAVXVNNI
	case haveAsm:
		return PathAVX2
	}
	return PathGeneric
}

//go:noescape
func laneGroupAct16AVX512(dst, src *int16, units int)

// laneGroupAct16 returns dst (grown to n·stride) holding the whole
// 512-column groups of the n vectors in q (each stride values apart)
// lane-grouped, the order the AVX-512 kernels for 2–4 vectors read
// (asmgen/q8q16.py); on other paths, which read q, and for one vector
// (q8q16r1x1Y reads q), dst is returned as it was.
func laneGroupAct16(dst, q []int16, n, cols, stride int) []int16 {
	groups := cols / (quant.BlockSize * q8q16Group)
	if !laneGrouped(n) || groups == 0 {
		return dst
	}
	dst = grow(dst, n*stride)
	for v := range n {
		laneGroupAct16AVX512(&dst[v*stride], &q[v*stride], groups*q8q16Group/4)
	}
	return dst
}

// laneGrouped reports whether n vectors are stored lane-grouped as well as
// in order: on the AVX-512 paths, for 2 or more (q8q16r1x1Y, which takes
// one vector alone, reads it in order).
func laneGrouped(n int) bool { return useAVX512 && n > 1 }

//go:noescape
func quantizeAct16AVX512(q *int16, scales *float32, x *float32, blocks int)

// quantizeAct16Asm quantizes x's whole blocks (bit for bit as
// quantizeAct16) and returns how many it did: all of them on the avx512
// path, none elsewhere.
func quantizeAct16Asm(q []int16, scales []float32, x []float32) int {
	blocks := min(len(x)/32, len(scales))
	if !useAVX512 || blocks == 0 {
		return 0
	}
	quantizeAct16AVX512(&q[0], &scales[0], &x[0], blocks)
	return blocks
}

//go:noescape
func q8q16r1x2VNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r1x3VNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r1x4VNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r2x2VNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r2x3VNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r2x4VNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r1x2AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r1x3AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r1x4AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r2x2AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r2x3AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16r2x4AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x1AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x2AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x3AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x4AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x2AVXVNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x3AVXVNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x4AVXVNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

// q8q16TwoRows is the most activation bytes a pass reads before the
// AVX-512 kernels take two rows a pass: above it (down's 9728 columns for
// 2 or more vectors) the activations no longer stay in L1 and every row
// would stream them again from L2 (at 4 vectors, 8 bytes for each weight
// byte), so a pair of rows shares each load. Below it one row a pass
// streams from memory faster (one sequential stream per thread).
const q8q16TwoRows = 32 << 10

// q8q16Asm stores rows [r0, r1) of every vector's product over the row's
// whole 16-block groups (512 columns), up to 4 vectors per pass over the
// rows, and reports whether it ran (false: no assembly on this path, or a
// row narrower than one group). A row's result is bit for bit the same
// whichever kernel computes it.
func q8q16Asm(y []float32, w *quant.Matrix, a *Q16Acts, r0, r1 int) bool {
	rows, cols, bpr := w.Rows, w.Cols, w.BlocksPerRow()
	groups := cols / (quant.BlockSize * q8q16Group)
	if !haveAsm || groups == 0 || r0 >= r1 {
		return false
	}
	stride := bpr * quant.BlockSize
	xq := a.Q
	if laneGrouped(a.N) {
		xq = a.lanes // Quantize stored the groups lane-grouped
	}
	for v0 := 0; v0 < a.N; v0 += 4 {
		g := min(a.N-v0, 4)
		var xp [4]*int16
		var sp [4]*float32
		var yp [4]*float32
		for i := range g {
			v := v0 + i
			xp[i], sp[i], yp[i] = &xq[v*stride], &a.Scales[v*bpr], &y[v*rows+r0]
		}
		q, s := &w.Q[r0*cols], &w.Scales[r0*bpr]
		if !useAVX512 {
			q8q16AVX2(g, q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
			continue
		}
		if g == 1 { // a vector alone (decode's): q8q16r1x1Y reads it in order
			xp[0] = &a.Q[v0*stride]
			q8q16r1x1Y(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
			continue
		}
		lo := r0
		if g >= 2 && g*stride*2 > q8q16TwoRows {
			pairs := (r1 - r0) &^ 1
			q8q16AVX512(2, g, q, s, pairs, groups, cols, 2*bpr, &xp, &sp, &yp)
			if lo += pairs; lo == r1 {
				continue
			}
			for i := range g {
				yp[i] = &y[(v0+i)*rows+lo]
			}
			q, s = &w.Q[lo*cols], &w.Scales[lo*bpr]
		}
		q8q16AVX512(1, g, q, s, r1-lo, groups, cols, 2*bpr, &xp, &sp, &yp)
	}
	return true
}

// q8q16AVX512 runs the AVX-512 kernel for g vectors and r rows a pass (r
// = 2: rows even). A switch, not a table of funcs: an indirect call would
// make the pointer arrays escape (an allocation per call).
func q8q16AVX512(r, g int, q *int8, s *uint16, rows, groups, rowBytes, scaleStride int, xp *[4]*int16, sp *[4]*float32, yp *[4]*float32) {
	switch k := r<<3 | g; {
	case useVNNI && k == 1<<3|2:
		q8q16r1x2VNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useVNNI && k == 1<<3|3:
		q8q16r1x3VNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useVNNI && k == 1<<3|4:
		q8q16r1x4VNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useVNNI && k == 2<<3|2:
		q8q16r2x2VNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useVNNI && k == 2<<3|3:
		q8q16r2x3VNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useVNNI && k == 2<<3|4:
		q8q16r2x4VNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case k == 1<<3|2:
		q8q16r1x2AVX512(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case k == 1<<3|3:
		q8q16r1x3AVX512(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case k == 1<<3|4:
		q8q16r1x4AVX512(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case k == 2<<3|2:
		q8q16r2x2AVX512(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case k == 2<<3|3:
		q8q16r2x3AVX512(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case k == 2<<3|4:
		q8q16r2x4AVX512(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	}
}

// q8q16AVX2 runs the AVX2 (or AVX-VNNI) kernel for g vectors. A vector
// alone (decode's) takes the AVX2 kernel on the avxvnni path too: the same
// sums, and it streams weights from memory faster (asmgen/q8q16.py).
func q8q16AVX2(g int, q *int8, s *uint16, rows, groups, rowBytes, scaleStride int, xp *[4]*int16, sp *[4]*float32, yp *[4]*float32) {
	switch {
	case g == 1:
		q8q16x1AVX2(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useAVXVNNI && g == 2:
		q8q16x2AVXVNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useAVXVNNI && g == 3:
		q8q16x3AVXVNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case useAVXVNNI:
		q8q16x4AVXVNNI(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case g == 2:
		q8q16x2AVX2(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	case g == 3:
		q8q16x3AVX2(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	default:
		q8q16x4AVX2(q, s, rows, groups, rowBytes, scaleStride, xp, sp, yp)
	}
}

//go:noescape
func q8q16r1x1Y(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)
