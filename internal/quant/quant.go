// Package quant holds the project's one int8 weight format and the rule that
// produces it (docs/design.md §3): per output row, blocks of BlockSize consecutive
// input columns, one float16 absmax scale per block,
//
//	scale = float16(float32(max|w|) / 127)
//	q     = clamp(round_half_away_from_zero(w / scale), -127, 127)
//
// and the dequantized weight is q * scale. An all-zero block has scale 0.
package quant

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/hugepage"

	"github.com/vlmrt/vlmrt/internal/f16"
)

// BlockSize is the number of input columns sharing one scale.
const BlockSize = 32

// Matrix is a [Rows, Cols] weight matrix in int8 with float16 block scales.
// Row r's values are Q[r*Cols : (r+1)*Cols]; its scales are
// Scales[r*BlocksPerRow() : (r+1)*BlocksPerRow()], block b covering columns
// [b*BlockSize, min((b+1)*BlockSize, Cols)). Q and Scales may alias a
// memory-mapped file: a Matrix is read-only once built.
type Matrix struct {
	Rows, Cols int
	Q          []int8
	Scales     []uint16 // IEEE float16 bit patterns
}

// BlocksPerRow returns the number of scales per row (the last block may be short).
func (m *Matrix) BlocksPerRow() int { return BlocksPerRow(m.Cols) }

// BlocksPerRow returns ceil(cols / BlockSize).
func BlocksPerRow(cols int) int { return (cols + BlockSize - 1) / BlockSize }

// Bytes returns the storage the matrix reads per full pass (int8 + scales).
func (m *Matrix) Bytes() int64 { return int64(len(m.Q)) + 2*int64(len(m.Scales)) }

// Storage is the matrix's memory viewed as bytes — the int8 weights, then
// the float16 scales: Bytes() bytes in all, without copying (for reading
// the very pages a product reads, as the bandwidth probe of the weights does).
func (m *Matrix) Storage() [][]byte {
	var out [][]byte
	if len(m.Q) > 0 {
		out = append(out, unsafe.Slice((*byte)(unsafe.Pointer(&m.Q[0])), len(m.Q)))
	}
	if len(m.Scales) > 0 {
		out = append(out, unsafe.Slice((*byte)(unsafe.Pointer(&m.Scales[0])), 2*len(m.Scales)))
	}
	return out
}

// Validate checks that the slices match the shape.
func (m *Matrix) Validate() error {
	if m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("quant: invalid shape [%d, %d]", m.Rows, m.Cols)
	}
	if len(m.Q) != m.Rows*m.Cols {
		return fmt.Errorf("quant: [%d, %d] matrix has %d int8 values, want %d", m.Rows, m.Cols, len(m.Q), m.Rows*m.Cols)
	}
	if want := m.Rows * m.BlocksPerRow(); len(m.Scales) != want {
		return fmt.Errorf("quant: [%d, %d] matrix has %d scales, want %d", m.Rows, m.Cols, len(m.Scales), want)
	}
	return nil
}

// New allocates a zero matrix of the given shape. Its values and scales
// (decode streams both every token) sit in transparent huge pages where
// the OS has them (hugepage.Alloc).
func New(rows, cols int) *Matrix {
	m := &Matrix{Rows: rows, Cols: cols}
	if n := rows * cols; n > 0 {
		q := hugepage.Alloc(n)
		m.Q = unsafe.Slice((*int8)(unsafe.Pointer(&q[0])), n)
	}
	if n := rows * BlocksPerRow(cols); n > 0 {
		s := hugepage.Alloc(2 * n)
		m.Scales = unsafe.Slice((*uint16)(unsafe.Pointer(&s[0])), n)
	}
	return m
}

// QuantizeRow quantizes one row w into q (len(w)) and scales (BlocksPerRow(len(w))).
func QuantizeRow(q []int8, scales []uint16, w []float32) {
	for b := 0; b*BlockSize < len(w); b++ {
		lo, hi := b*BlockSize, min((b+1)*BlockSize, len(w))
		var amax float32
		for _, v := range w[lo:hi] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		h := f16.FromF32(amax / 127)
		scales[b] = h
		s := f16.ToF32(h)
		for i := lo; i < hi; i++ {
			if s == 0 {
				q[i] = 0
				continue
			}
			q[i] = int8(max(-127, min(127, roundHalfAway(w[i]/s))))
		}
	}
}

// roundHalfAway rounds to the nearest integer, ties away from zero.
func roundHalfAway(x float32) float32 { return float32(math.Round(float64(x))) }

// Quantize converts a row-major [rows, cols] float32 matrix.
func Quantize(w []float32, rows, cols int) (*Matrix, error) {
	if len(w) != rows*cols {
		return nil, fmt.Errorf("quant: %d values for a [%d, %d] matrix", len(w), rows, cols)
	}
	m := New(rows, cols)
	bpr := m.BlocksPerRow()
	for r := 0; r < rows; r++ {
		QuantizeRow(m.Q[r*cols:(r+1)*cols], m.Scales[r*bpr:(r+1)*bpr], w[r*cols:(r+1)*cols])
	}
	return m, nil
}

// DequantizeRow writes row r of m as float32 into dst (len Cols).
func (m *Matrix) DequantizeRow(dst []float32, r int) {
	bpr := m.BlocksPerRow()
	q := m.Q[r*m.Cols : (r+1)*m.Cols]
	for b := 0; b < bpr; b++ {
		s := f16.ToF32(m.Scales[r*bpr+b])
		for i := b * BlockSize; i < min((b+1)*BlockSize, m.Cols); i++ {
			dst[i] = float32(q[i]) * s
		}
	}
}

// Dequantize returns the whole matrix as float32 (tests and debugging).
func (m *Matrix) Dequantize() []float32 {
	out := make([]float32, m.Rows*m.Cols)
	for r := 0; r < m.Rows; r++ {
		m.DequantizeRow(out[r*m.Cols:(r+1)*m.Cols], r)
	}
	return out
}
