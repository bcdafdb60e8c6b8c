//go:build !noasm

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/vlmrt/vlmrt/internal/quant"
)

// The int8×int8 kernels use SDOT (FEAT_DotProd, optional in ARMv8.2,
// present on Apple M1 and later); NEON without it takes the pure-Go kernel.
// With the int8 matrix-multiply extension too (FEAT_I8MM, Apple M2 and
// later), two or more vectors take the SMMLA kernels (asmgen/q8q8neon.py).
// useDotProd and useI8MM are variables so tests can run the NEON path
// without them.
var (
	useDotProd = cpu.ARM64.HasASIMDDP
	useI8MM    = cpu.ARM64.HasI8MM
)

// q8q8FormFor is the activation form the kernels take for n vectors on
// the NEON path: formPairs for the SMMLA kernels (n ≥ 2 with i8mm), else
// formQ (Q8Acts.Q as quantized) with the dot-product extension.
func q8q8FormFor(n int) int {
	switch {
	case !haveAsm || !useDotProd:
		return formNone
	case useI8MM && n >= 2:
		return formPairs
	}
	return formQ
}

// Q8Q8Path names the int8×int8 kernels the active path runs.
func Q8Q8Path() string {
	switch q8q8FormFor(2) {
	case formPairs:
		return "neon+dotprod+i8mm"
	case formQ:
		return "neon+dotprod"
	}
	return PathGeneric
}

//go:noescape
func q8q8x1SDOT(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x2SDOT(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x3SDOT(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x4SDOT(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x2SMMLA(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x3SMMLA(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q8x4SMMLA(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)

// q8q8Asm stores rows [r0, r1) of every vector's product over the first
// groups·16 blocks, up to 4 vectors per pass over the rows.
func q8q8Asm(y []float32, w *quant.Matrix, a *Q8Acts, r0, r1, groups int) {
	rows, cols, bpr := w.Rows, w.Cols, w.BlocksPerRow()
	stride := bpr * quant.BlockSize
	for v0 := 0; v0 < a.N; v0 += 4 {
		g := min(a.N-v0, 4)
		var xp [4]*int8
		var sp [4]*float32
		var yp [4]*float32
		for i := range 4 {
			v := v0 + min(i, g-1) // unused slots repeat the last vector
			xp[i] = &a.Q[v*stride]
			sp[i] = &a.Scales[v*bpr]
			yp[i] = &y[v*rows+r0]
		}
		lo := r0
		if a.form == formPairs && g >= 2 {
			// Rows in pairs; an odd last row goes to the SDOT kernel below.
			even := (r1 - r0) &^ 1
			var pp [4]*uint8
			for i := range 2 {
				p := min(v0/2+i, (a.N-1)/2)
				pp[i] = &a.aux[p*bpr*pairBlockBytes]
			}
			q, s := &w.Q[r0*cols], &w.Scales[r0*bpr]
			switch g {
			case 2:
				q8q8x2SMMLA(q, s, even, groups, cols, 2*bpr, &pp, &sp, &yp)
			case 3:
				q8q8x3SMMLA(q, s, even, groups, cols, 2*bpr, &pp, &sp, &yp)
			default:
				q8q8x4SMMLA(q, s, even, groups, cols, 2*bpr, &pp, &sp, &yp)
			}
			if lo += even; lo == r1 {
				continue
			}
			for i := range 4 {
				yp[i] = &y[(v0+min(i, g-1))*rows+lo]
			}
		}
		q, s := &w.Q[lo*cols], &w.Scales[lo*bpr]
		switch g {
		case 1:
			q8q8x1SDOT(q, s, r1-lo, groups, cols, 2*bpr, &xp, &sp, &yp)
		case 2:
			q8q8x2SDOT(q, s, r1-lo, groups, cols, 2*bpr, &xp, &sp, &yp)
		case 3:
			q8q8x3SDOT(q, s, r1-lo, groups, cols, 2*bpr, &xp, &sp, &yp)
		default:
			q8q8x4SDOT(q, s, r1-lo, groups, cols, 2*bpr, &xp, &sp, &yp)
		}
	}
}
