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
type matrix struct {
	rows, cols int
	format     uint32
	q, scales  Buffer // scales is the dummy for float32
	bias       Buffer // nil: no bias
	bytes      int64  // what one application reads
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
	m := &matrix{rows: l.Rows, cols: l.Cols, scales: dummy, bytes: l.Bytes()}
	var err error
	if l.Q8 != nil {
		if m.q, err = u.bytes(ctx, asBytes(l.Q8.Q)); err == nil {
			m.scales, err = u.bytes(ctx, asBytes(l.Q8.Scales))
		}
	} else {
		m.format = 1
		m.q, err = u.f32(ctx, l.F32)
	}
	if err == nil && l.Bias != nil {
		m.bias, err = u.f32(ctx, l.Bias)
	}
	return m, err
}

// table uploads an embedding table in its stored float type; the embed
// kernel widens rows on lookup (TABLE 0 float32, 1 float16, 2 bfloat16).
func (u *uploader) table(ctx context.Context, tb *weights.Table) (Buffer, uint32, error) {
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
	b, err := u.bytes(ctx, t.Data)
	return b, format, err
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
