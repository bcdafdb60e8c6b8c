//go:build !noasm

package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// The int8×int8 kernels: on the avx512vnni path VPDPBUSD (64 byte
// products per instruction); on the avxvnni path its VEX form (32 a
// register, emitted as bytes: Go's assembler encodes VPDPBUSD only with
// EVEX); otherwise, on the avx2 and avx512 paths, VPMADDUBSW + VPMADDWD.

// q8q8FormFor is the activation form the active path's kernels take for n
// vectors: the VNNI kernels on the avx512vnni path, the AVX2 ones on the
// avx2 and avx512 paths.
func q8q8FormFor(n int) int {
	switch {
	case useVNNI && n == 1:
		return formChunks
	case useVNNI:
		return formGroups
	case haveAsm:
		return formSigned
	}
	return formNone
}

// Q8Q8Path names the int8×int8 kernels the active path runs.
func Q8Q8Path() string {
	switch q8q8FormFor(1) {
	case formChunks:
		return PathAVX512VNNI
	case formSigned:
		if useAVXVNNI {
			return PathAVXVNNI
		}
		return PathAVX2
	}
	return PathGeneric
}

//go:noescape
func q8q8x1AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8t1AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8t2AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8t3AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8t4AVX512(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x1AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x2AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x3AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x4AVX2(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x1AVXVNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x2AVXVNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x3AVXVNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x4AVXVNNI(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

// q8q8Asm stores rows [r0, r1) of every vector's product over the first
// groups·16 blocks, up to 4 vectors per pass over the rows (more vectors'
// activations would crowd L1; a second pass rereads the rows from cache).
func q8q8Asm(y []float32, w *quant.Matrix, a *Q8Acts, r0, r1, groups int) {
	rows, cols, bpr := w.Rows, w.Cols, w.BlocksPerRow()
	stride := a.auxStride()
	for v0 := 0; v0 < a.N; v0 += 4 {
		g := min(a.N-v0, 4)
		var xp [4]*uint8
		var sp [4]*float32
		var yp [4]*float32
		for i := range 4 {
			v := v0 + min(i, g-1) // unused slots repeat the last vector
			xp[i] = &a.aux[v*stride]
			sp[i] = &a.Scales[v*bpr]
			yp[i] = &y[v*rows+r0]
		}
		q, s := &w.Q[r0*cols], &w.Scales[r0*bpr]
		switch {
		case a.form == formSigned && useAVXVNNI && g == 1:
			q8q8x1AVXVNNI(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formSigned && useAVXVNNI && g == 2:
			q8q8x2AVXVNNI(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formSigned && useAVXVNNI && g == 3:
			q8q8x3AVXVNNI(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formSigned && useAVXVNNI:
			q8q8x4AVXVNNI(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formSigned && g == 1:
			q8q8x1AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formSigned && g == 2:
			q8q8x2AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formSigned && g == 3:
			q8q8x3AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formSigned:
			q8q8x4AVX2(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case a.form == formChunks:
			q8q8x1AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case g == 1:
			q8q8t1AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case g == 2:
			q8q8t2AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case g == 3:
			q8q8t3AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		default:
			q8q8t4AVX512(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		}
	}
}
