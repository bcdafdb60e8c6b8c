//go:build !noasm

package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// The int8×int16 kernels on arm64 (asmgen/q8q16neon.py): SMULL/SMLAL over
// the activations in order, base ARMv8.0 NEON, so every arm64 CPU takes
// them (and decode's default activations are int16 there too).

// Q8Q16Path names the int8×int16 kernels the active path runs.
func Q8Q16Path() string {
	if haveAsm {
		return PathNEON
	}
	return PathGeneric
}

// quantizeAct16Asm: the activations are quantized in Go on arm64.
func quantizeAct16Asm(q []int16, scales []float32, x []float32) int { return 0 }

// laneGroupAct16: the NEON kernels read the activations in order.
func laneGroupAct16(dst, q []int16, n, cols, stride int) []int16 { return dst }

//go:noescape
func q8q16x1NEON(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x2NEON(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x3NEON(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

//go:noescape
func q8q16x4NEON(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)

// q8q16Asm stores rows [r0, r1) of every vector's product over the row's
// whole 16-block groups (512 columns), up to 4 vectors per pass over the
// rows, and reports whether it ran (false: the generic path, or a row
// narrower than one group). A row's result is bit for bit the same alone
// or batched.
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
		switch g {
		case 1:
			q8q16x1NEON(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case 2:
			q8q16x2NEON(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		case 3:
			q8q16x3NEON(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		default:
			q8q16x4NEON(q, s, r1-r0, groups, cols, 2*bpr, &xp, &sp, &yp)
		}
	}
	return true
}
