//go:build !noasm

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/vlmrt/vlmrt/internal/quant"
)

// The int8×int8 kernels use SDOT (FEAT_DotProd, optional in ARMv8.2,
// present on Apple M1 and later); NEON without it takes the pure-Go kernel.
// useDotProd is a variable so tests can run the NEON path without it.
var useDotProd = cpu.ARM64.HasASIMDDP

// q8q8FormFor is the activation form the kernels take: formQ (Q8Acts.Q as
// quantized) on the NEON path with the dot-product extension.
func q8q8FormFor(n int) int {
	if haveAsm && useDotProd {
		return formQ
	}
	return formNone
}

// Q8Q8Path names the int8×int8 kernels the active path runs.
func Q8Q8Path() string {
	if q8q8FormFor(1) == formQ {
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
		q, s := &w.Q[r0*cols], &w.Scales[r0*bpr]
		switch g {
		case 1:
			q8q8x1SDOT(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case 2:
			q8q8x2SDOT(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case 3:
			q8q8x3SDOT(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		default:
			q8q8x4SDOT(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		}
	}
}
