package gpu

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Weights in device memory. Every buffer is a whole number of 32-bit words
// (the kernels read words): sizes are rounded up and the tail stays zero.

// matrix is a linear layer on the device: int8 values and float16 block
// scales in the quant.Matrix layout (format 0), or float32 (format 1).
// A matrix larger than the device's largest storage buffer binding is
// split by rows into parts, each its own buffers (lavapipe binds at most
// 128 MiB; the 4B head is 389 MB); a product runs one dispatch per part.
type matrix struct {
	rows, cols int
	format     uint32
	parts      []matrixPart
	bytes      int64 // what one application reads
}

// matrixPart is rows row0 .. row0+rows-1 of a matrix.
type matrixPart struct {
	row0, rows int
	q, scales  Buffer // scales is the dummy for float32
	bias       Buffer // nil: no bias
}

// uploader creates buffers on a device and remembers them for release.
type uploader struct {
	dev  Device
	bufs []Buffer
	done int64 // bytes uploaded (progress)
	prog func(done int64)
}

func (u *uploader) buffer(size int64) (Buffer, error) {
	b, err := u.dev.NewBuffer(max(4, (size+3)&^3))
	if err != nil {
		return nil, err
	}
	u.bufs = append(u.bufs, b)
	return b, nil
}

// bytes uploads data to a new buffer.
func (u *uploader) bytes(ctx context.Context, data []byte) (Buffer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := u.buffer(int64(len(data)))
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		if err := b.Write(0, data); err != nil {
			return nil, err
		}
	}
	u.done += int64(len(data))
	if u.prog != nil {
		u.prog(u.done)
	}
	return b, nil
}

func (u *uploader) f32(ctx context.Context, v []float32) (Buffer, error) {
	return u.bytes(ctx, asBytes(v))
}

func (u *uploader) linear(ctx context.Context, l *weights.Linear, dummy Buffer) (*matrix, error) {
	m := &matrix{rows: l.Rows, cols: l.Cols, bytes: l.Bytes()}
	rowBytes := int64(l.Cols) * 4
	if l.Q8 != nil {
		rowBytes = int64(l.Cols)
	} else {
		m.format = 1
	}
	per := rowsPerPart(l.Rows, rowBytes, u.dev.Info().MaxBufferBytes)
	for r0 := 0; r0 < l.Rows; r0 += per {
		p := matrixPart{row0: r0, rows: min(per, l.Rows-r0), scales: dummy}
		lo, hi := r0*l.Cols, (r0+p.rows)*l.Cols
		var err error
		if l.Q8 != nil {
			bpr := l.Q8.BlocksPerRow()
			if p.q, err = u.bytes(ctx, asBytes(l.Q8.Q[lo:hi])); err == nil {
				p.scales, err = u.bytes(ctx, asBytes(l.Q8.Scales[r0*bpr:(r0+p.rows)*bpr]))
			}
		} else {
			p.q, err = u.f32(ctx, l.F32[lo:hi])
		}
		if err == nil && l.Bias != nil {
			p.bias, err = u.f32(ctx, l.Bias[r0:r0+p.rows])
		}
		if err != nil {
			return nil, err
		}
		m.parts = append(m.parts, p)
	}
	return m, nil
}

// tablePart is rows row0 .. row0+rows-1 of an embedding table.
type tablePart struct {
	row0, rows int
	buf        Buffer
}

// table uploads an embedding table in its stored float type; the embed
// kernel widens rows on lookup (TABLE 0 float32, 1 float16, 2 bfloat16).
// Like a matrix, a table past the largest buffer binding is split by rows.
func (u *uploader) table(ctx context.Context, tb *weights.Table) ([]tablePart, uint32, error) {
	t := tb.Tensor()
	var format uint32
	switch t.DType {
	case safetensors.F32:
		format = 0
	case safetensors.F16:
		format = 1
	case safetensors.BF16:
		format = 2
	default:
		return nil, 0, fmt.Errorf("gpu: embedding table %q has dtype %s; the GPU engine reads F32, F16 or BF16", t.Name, t.DType)
	}
	rowBytes := len(t.Data) / tb.Rows
	per := rowsPerPart(tb.Rows, int64(rowBytes), u.dev.Info().MaxBufferBytes)
	var parts []tablePart
	for r0 := 0; r0 < tb.Rows; r0 += per {
		p := tablePart{row0: r0, rows: min(per, tb.Rows-r0)}
		b, err := u.bytes(ctx, t.Data[r0*rowBytes:(r0+p.rows)*rowBytes])
		if err != nil {
			return nil, 0, err
		}
		p.buf = b
		parts = append(parts, p)
	}
	return parts, format, nil
}

// rowsPerPart is how many rows of rowBytes each go in one buffer when a
// buffer binding holds at most limit bytes (≤ 0: no limit): as many as fit
// below the limit with room to round up to a word, at least one, at most
// rows. A row larger than the limit gets a part of its own, which the
// device then refuses with its own error rather than this one dividing by
// zero or looping.
func rowsPerPart(rows int, rowBytes, limit int64) int {
	if limit <= 0 || rowBytes <= 0 || rows <= 1 {
		return max(rows, 1)
	}
	return int(max(1, min(int64(rows), (limit-4)/rowBytes)))
}

func (u *uploader) release() {
	for _, b := range u.bufs {
		b.Release()
	}
	u.bufs = nil
}

// asBytes views a slice of fixed-size numbers as its bytes (no copy).
func asBytes[T int8 | uint16 | int32 | float32](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(z)))
}
