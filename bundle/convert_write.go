package bundle

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
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

// quantBatchRows is how many rows are quantized (in parallel) between writes.
const quantBatchRows = 256

// quantize runs the int8 rule over t's rows, writing the int8 values to w
// (when not nil) and returning all block scales. Rows of a batch are
// quantized on all cores and written in order: each row's result depends on
// that row alone, so the output is the same as a sequential pass.
func (c *converter) quantize(t safetensors.Tensor, rows, cols int, w io.Writer) ([]uint16, error) {
	bpr := quant.BlocksPerRow(cols)
	scales := make([]uint16, rows*bpr)
	batch := min(rows, quantBatchRows)
	q := make([]int8, batch*cols)
	workers := min(runtime.GOMAXPROCS(0), batch)
	rowBufs := make([][]float32, workers)
	for i := range rowBufs {
		rowBufs[i] = make([]float32, cols)
	}
	errs := make([]error, workers)
	for first := 0; first < rows; first += batch {
		if err := c.ctx.Err(); err != nil {
			return nil, err
		}
		n := min(batch, rows-first)
		var wg sync.WaitGroup
		for k := 0; k < workers; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				row := rowBufs[k]
				for r := first + k; r < first+n; r += workers {
					if err := t.Float32sInto(row, r*cols); err != nil {
						errs[k] = err
						return
					}
					i := r - first
					quant.QuantizeRow(q[i*cols:(i+1)*cols], scales[r*bpr:(r+1)*bpr], row)
				}
			}(k)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		// A NaN or infinite weight, or one too large for a float16 scale,
		// shows as a non-finite scale; find it to name it.
		for b, h := range scales[first*bpr : (first+n)*bpr] {
			if h&0x7c00 == 0x7c00 {
				return nil, c.badBlock(t, cols, first*bpr+b)
			}
		}
		if w == nil {
			continue
		}
		qb := unsafe.Slice((*byte)(unsafe.Pointer(&q[0])), n*cols)
		if _, err := w.Write(qb); err != nil {
			return nil, err
		}
	}
	return scales, nil
}

// badBlock explains the non-finite scale of block index bi (row-major over all rows).
func (c *converter) badBlock(t safetensors.Tensor, cols, bi int) error {
	bpr := quant.BlocksPerRow(cols)
	r, b := bi/bpr, bi%bpr
	lo, hi := b*quant.BlockSize, min((b+1)*quant.BlockSize, cols)
	vals := make([]float32, hi-lo)
	if err := t.Float32sInto(vals, r*cols+lo); err == nil {
		for i, v := range vals {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nonFinite(t.Name, r*cols+lo+i, v)
			}
		}
	}
	return fmt.Errorf("tensor %q row %d block %d: its scale max|w|/127 is outside the float16 range", t.Name, r, b)
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
