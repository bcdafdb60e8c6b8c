//go:build !noasm

package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// The int8×int16 kernels (asmgen/q8q16.py): VPMOVSXBW + VPMADDWD on the
// AVX-512 path (AVX-512BW; no VNNI needed) and, with 256-bit registers, on
// the AVX2 path.

// Q8Q16Path names the int8×int16 kernels the active path runs.
func Q8Q16Path() string {
	switch {
	case useAVX512:
		return PathAVX512
	case haveAsm:
		return PathAVX2
	}
	return PathGeneric
}

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
func q8q16x1AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x2AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x3AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x4AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x1AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x2AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x3AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x4AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

// q8q16Asm stores rows [r0, r1) of every vector's product over the row's
// whole 16-block groups (512 columns), up to 4 vectors per pass over the
// rows, and reports whether it ran (false: no assembly on this path, or a
// row narrower than one group).
func q8q16Asm(y []float32, w *quant.Matrix, a *Q16Acts, r0, r1 int) bool {
	rows, cols, bpr := w.Rows, w.Cols, w.BlocksPerRow()
	groups := cols / (quant.BlockSize * q8q16Group)
	if !haveAsm || groups == 0 || r0 >= r1 {
		return false
	}
	stride := bpr * quant.BlockSize
	for v0 := 0; v0 < a.N; v0 += 4 {
		g := min(a.N-v0, 4)
		var xp [4]*int16
		var sp [4]*float32
		var yp [4]*float32
		for i := range g {
			v := v0 + i
			xp[i], sp[i], yp[i] = &a.Q[v*stride], &a.Scales[v*bpr], &y[v*rows+r0]
		}
		q, s := &w.Q[r0*cols], &w.Scales[r0*bpr]
		// A switch, not a table of funcs: an indirect call would make the
		// pointer arrays escape (an allocation per call).
		switch {
		case useAVX512 && g == 1:
			q8q16x1AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case useAVX512 && g == 2:
			q8q16x2AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case useAVX512 && g == 3:
			q8q16x3AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case useAVX512:
			q8q16x4AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case g == 1:
			q8q16x1AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case g == 2:
			q8q16x2AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case g == 3:
			q8q16x3AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		default:
			q8q16x4AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		}
	}
	return true
}
