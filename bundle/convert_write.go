package bundle

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/quant"
	"github.com/vlmrt/vlmrt/safetensors"
	"github.com/vlmrt/vlmrt/weights"
)

// chunkElems bounds the float16 conversion buffer: tensors are converted a
// slice at a time so no whole tensor is ever materialized.
const chunkElems = 1 << 16

// reportEvery throttles progress callbacks to one per this many bytes.
const reportEvery = 8 << 20

// converter streams checkpoint tensors into bundle files.
type converter struct {
	ctx      context.Context
	src      *safetensors.Set
	progress func(done, total int64)
	done     int64
	total    int64
	reported int64
	// scales holds the block scales computed while writing a linear's int8
	// values, until its ".scales" tensor (written right after it, in name
	// order) takes them; a scales entry without them recomputes.
	scales map[string][]uint16
}

func newConverter(ctx context.Context, src *safetensors.Set, p *plan, progress func(done, total int64)) *converter {
	c := &converter{ctx: ctx, src: src, progress: progress, scales: map[string][]uint16{}}
	for _, it := range append(append([]item{}, p.decoder...), p.vision...) {
		c.total += it.bytes()
	}
	return c
}

// writeFile streams items to path (atomically, through safetensors.WriteEntries).
func (c *converter) writeFile(path string, items []item, metadata map[string]string) error {
	entries := make([]safetensors.Entry, len(items))
	for i, it := range items {
		it := it
		entries[i] = safetensors.Entry{Name: it.out, DType: it.dtype, Shape: it.shape, Write: func(w io.Writer) error {
			return c.write(&progressWriter{w: w, c: c}, it)
		}}
	}
	return safetensors.WriteEntries(path, entries, metadata, nil)
}

func (c *converter) write(w io.Writer, it item) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	t, err := c.src.Tensor(it.src)
	if err != nil {
		return err
	}
	switch it.act {
	case actCopy:
		err = c.copyRaw(w, t.Data)
	case actF16:
		err = c.writeF16(w, t)
	case actQ8:
		err = c.writeQ8(w, it, t)
	case actScales:
		err = c.writeScales(w, it, t)
	}
	if err == nil {
		c.src.Release(t)
	}
	return err
}

// copyRaw writes bytes in chunks so cancellation is noticed inside big tensors.
func (c *converter) copyRaw(w io.Writer, b []byte) error {
	for len(b) > 0 {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		n := min(len(b), 2*chunkElems)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// writeF16 narrows a float tensor to float16. bf16 has float32's exponent
// range, float16 does not: a value beyond ±65504 would become infinity, so
// it is an error naming the tensor rather than a silently broken weight.
// Values below float16's normal range (|x| < 2⁻¹⁴) are rounded to the
// nearest float16, losing at most 2⁻²⁵ in absolute value.
func (c *converter) writeF16(w io.Writer, t safetensors.Tensor) error {
	if t.DType == safetensors.F16 {
		return c.copyRaw(w, t.Data)
	}
	n := t.NumElements()
	buf := make([]float32, min(n, chunkElems))
	out := make([]byte, 2*len(buf))
	for first := 0; first < n; first += len(buf) {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		m := min(len(buf), n-first)
		if err := t.Float32sInto(buf[:m], first); err != nil {
			return err
		}
		for i, v := range buf[:m] {
			h := f16.FromF32(v)
			if h&0x7c00 == 0x7c00 {
				return nonFinite(t.Name, first+i, v)
			}
			binary.LittleEndian.PutUint16(out[2*i:], h)
		}
		if _, err := w.Write(out[:2*m]); err != nil {
			return err
		}
	}
	return nil
}

func nonFinite(name string, at int, v float32) error {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return fmt.Errorf("tensor %q element %d is %v: the checkpoint is corrupt", name, at, v)
	}
	return fmt.Errorf("tensor %q element %d = %g is outside the float16 range (±65504); this checkpoint cannot be stored in a portable bundle", name, at, v)
}

// writeQ8 quantizes a linear row by row with the project's one rule
// (quant.QuantizeRow) and keeps the scales for the companion tensor.
func (c *converter) writeQ8(w io.Writer, it item, t safetensors.Tensor) error {
	scales, err := c.quantize(t, it.shape[0], it.shape[1], w)
	if err != nil {
		return err
	}
	c.scales[it.out] = scales
	return nil
}

func (c *converter) writeScales(w io.Writer, it item, t safetensors.Tensor) error {
	base := strings.TrimSuffix(it.out, weights.ScalesSuffix)
	scales, ok := c.scales[base]
	if !ok {
		var err error
		rows, cols := t.Shape[0], t.Shape[1]
		if scales, err = c.quantize(t, rows, cols, nil); err != nil {
			return err
		}
	}
	delete(c.scales, base)
	out := make([]byte, 2*len(scales))
	for i, s := range scales {
		binary.LittleEndian.PutUint16(out[2*i:], s)
	}
	return c.copyRaw(w, out)
}

// quantize runs the int8 rule over t's rows, writing the int8 values to w
// (when not nil) and returning all block scales.
func (c *converter) quantize(t safetensors.Tensor, rows, cols int, w io.Writer) ([]uint16, error) {
	bpr := quant.BlocksPerRow(cols)
	scales := make([]uint16, rows*bpr)
	row := make([]float32, cols)
	q := make([]int8, cols)
	qb := make([]byte, cols)
	for r := 0; r < rows; r++ {
		if err := c.ctx.Err(); err != nil {
			return nil, err
		}
		if err := t.Float32sInto(row, r*cols); err != nil {
			return nil, err
		}
		for i, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nonFinite(t.Name, r*cols+i, v)
			}
		}
		s := scales[r*bpr : (r+1)*bpr]
		quant.QuantizeRow(q, s, row)
		for b, h := range s {
			if h&0x7c00 == 0x7c00 {
				return nil, fmt.Errorf("tensor %q row %d block %d: its scale max|w|/127 is outside the float16 range", t.Name, r, b)
			}
		}
		if w == nil {
			continue
		}
		for i, v := range q {
			qb[i] = byte(v)
		}
		if _, err := w.Write(qb); err != nil {
			return nil, err
		}
	}
	return scales, nil
}

// progressWriter counts bytes written into the converter's progress.
type progressWriter struct {
	w io.Writer
	c *converter
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.c.advance(int64(n))
	return n, err
}

func (c *converter) advance(n int64) {
	c.done += n
	if c.progress != nil && (c.done-c.reported >= reportEvery || c.done == c.total) {
		c.reported = c.done
		c.progress(c.done, c.total)
	}
}
