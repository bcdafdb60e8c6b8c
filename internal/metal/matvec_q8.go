package metal

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// MatVecQ8Reference computes y = deq(W)·x on the host exactly as the
// matvec_q8 kernel in Source does: the same per-lane block assignment, the
// same loop order, correctly rounded float32 fma where the kernel calls
// fma, and the same butterfly reduction across the 32 lanes. A Metal result
// can therefore be compared with it bit for bit, and it agrees with
// kernels.MatVecQ8 (which sums in another order) within float32 rounding.
// Shapes are checked; a mismatch is an error naming them.
func MatVecQ8Reference(y []float32, w *quant.Matrix, x []float32) error {
	if w == nil {
		return fmt.Errorf("metal: matvec_q8 reference: nil weight matrix")
	}
	if err := w.Validate(); err != nil {
		return fmt.Errorf("metal: matvec_q8 reference: %w", err)
	}
	if len(x) != w.Cols || len(y) != w.Rows {
		return fmt.Errorf("metal: matvec_q8 reference: W [%d, %d] needs x of %d and y of %d values, got x %d, y %d",
			w.Rows, w.Cols, w.Cols, w.Rows, len(x), len(y))
	}
	bpr := w.BlocksPerRow()
	var part [SIMDWidth]float32
	for r := 0; r < w.Rows; r++ {
		q := w.Q[r*w.Cols : (r+1)*w.Cols]
		s := w.Scales[r*bpr : (r+1)*bpr]
		for lane := range part {
			var p float32
			for b := lane; b < bpr; b += SIMDWidth {
				lo, hi := b*quant.BlockSize, min((b+1)*quant.BlockSize, w.Cols)
				var acc float32
				for i := lo; i < hi; i++ {
					acc = fma32(float32(q[i]), x[i], acc)
				}
				p = fma32(acc, f16.ToF32(s[b]), p)
			}
			part[lane] = p
		}
		// The simd_shuffle_xor butterfly: each step sets every lane to
		// part[l] + part[l^off]. Lane 0's result depends only on the lanes
		// below off at each step, whose partners l^off are l+off.
		for off := SIMDWidth / 2; off >= 1; off /= 2 {
			for l := 0; l < off; l++ {
				part[l] = part[l] + part[l+off]
			}
		}
		y[r] = part[0]
	}
	return nil
}

// fma32 returns a·b + c rounded once to float32, as Metal's fma does. The
// product of two float32 values is exact in float64, so only the sum can
// round twice (to float64, then to float32); that differs from a single
// rounding only when the float64 sum lands exactly on a float32 halfway
// point while the exact sum does not, and the sign of the float64 sum's
// rounding error then breaks the tie.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	cc := float64(c)
	s := p + cc
	r := float32(s)
	if math.IsInf(s, 0) || math.IsNaN(s) || math.IsInf(float64(r), 0) {
		return r
	}
	// Knuth's TwoSum: e is the exact rounding error of s = p + cc.
	bb := s - p
	e := (p - (s - bb)) + (cc - bb)
	if e == 0 || float64(r) == s {
		return r
	}
	lo, hi := r, r
	if float64(r) < s {
		hi = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if s != (float64(lo)+float64(hi))/2 {
		return r
	}
	if e > 0 {
		return hi
	}
	return lo
}

// MatVecQ8ParamsSize is the size of the kernel's MatVecQ8Params struct.
const MatVecQ8ParamsSize = 12

// MatVecQ8Params packs the kernel's constant MatVecQ8Params
// {uint rows, cols, blocks_per_row} (little-endian, as every Apple GPU).
func MatVecQ8Params(rows, cols int) ([]byte, error) {
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("metal: matvec_q8: invalid shape [%d, %d]", rows, cols)
	}
	// The kernel indexes rows with 32-bit row and column counts.
	if rows > math.MaxUint32 || cols > math.MaxUint32 {
		return nil, fmt.Errorf("metal: matvec_q8: shape [%d, %d] exceeds the kernel's 32-bit counts", rows, cols)
	}
	b := make([]byte, MatVecQ8ParamsSize)
	binary.LittleEndian.PutUint32(b[0:], uint32(rows))
	binary.LittleEndian.PutUint32(b[4:], uint32(cols))
	binary.LittleEndian.PutUint32(b[8:], uint32(quant.BlocksPerRow(cols)))
	return b, nil
}

// MatVecQ8Grid returns matvec_q8's launch shape for rows output rows: one
// SIMD-group per row, MatVecQ8RowsPerGroup rows per threadgroup, the last
// threadgroup's extra SIMD-groups exiting at once.
func MatVecQ8Grid(rows int) (groups, threads Size) {
	n := (rows + MatVecQ8RowsPerGroup - 1) / MatVecQ8RowsPerGroup
	return Size{n, 1, 1}, Size{SIMDWidth * MatVecQ8RowsPerGroup, 1, 1}
}

// MatVecQ8Args checks that the buffers hold a [rows, cols] quant.Matrix
// (q: rows·cols int8, scales: rows·BlocksPerRow float16), x (cols float32)
// and y (rows float32), and returns the kernel's bindings and launch shape.
func MatVecQ8Args(y, q, scales, x *Buffer, rows, cols int) (args []Arg, groups, threads Size, err error) {
	params, err := MatVecQ8Params(rows, cols)
	if err != nil {
		return nil, Size{}, Size{}, err
	}
	need := []struct {
		name string
		b    *Buffer
		size int
	}{
		{"q", q, rows * cols},
		{"scales", scales, 2 * rows * quant.BlocksPerRow(cols)},
		{"x", x, 4 * cols},
		{"y", y, 4 * rows},
	}
	for _, n := range need {
		if n.b == nil {
			return nil, Size{}, Size{}, fmt.Errorf("metal: matvec_q8 [%d, %d]: nil %s buffer", rows, cols, n.name)
		}
		if n.b.Len() < n.size {
			return nil, Size{}, Size{}, fmt.Errorf("metal: matvec_q8 [%d, %d]: %s buffer has %d bytes, needs %d",
				rows, cols, n.name, n.b.Len(), n.size)
		}
	}
	args = []Arg{
		BufferArg(MatVecQ8ArgQ, q),
		BufferArg(MatVecQ8ArgScales, scales),
		BufferArg(MatVecQ8ArgX, x),
		BufferArg(MatVecQ8ArgY, y),
		BytesArg(MatVecQ8ArgParams, params),
	}
	groups, threads = MatVecQ8Grid(rows)
	return args, groups, threads, nil
}

// MatVecQ8 runs matvec_q8 on the GPU: y = deq(W)·x for a [rows, cols]
// quant.Matrix whose int8 values and float16 scales are in the q and
// scales buffers (the Matrix's Q and Scales bytes, unchanged). p must be
// the pipeline of KernelMatVecQ8. It returns when y is written.
func (q *CommandQueue) MatVecQ8(ctx context.Context, p *Pipeline, y, qb, scales, x *Buffer, rows, cols int) error {
	if err := q.ready(); err != nil {
		return err
	}
	if p.Name() != KernelMatVecQ8 {
		return fmt.Errorf("metal: matvec_q8: pipeline runs %q, not %q", p.Name(), KernelMatVecQ8)
	}
	if w := p.ThreadExecutionWidth(); w != SIMDWidth {
		return fmt.Errorf("metal: matvec_q8: the device runs %d-wide SIMD-groups, the kernel is written for %d", w, SIMDWidth)
	}
	args, groups, threads, err := MatVecQ8Args(y, qb, scales, x, rows, cols)
	if err != nil {
		return err
	}
	return q.Dispatch(ctx, p, groups, threads, args...)
}
