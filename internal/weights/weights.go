// Package weights binds checkpoint tensors, by name, into the typed weights
// the model packages compute with: float32 vectors, embedding tables and
// linear layers (float32 or int8-quantized). It knows the project's int8
// storage convention but nothing of Qwen3-VL.
package weights

import (
	"errors"
	"fmt"
	"github.com/vlmrt/vlmrt/internal/hugepage"
	goruntime "runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// Source is a name space of tensors: a checkpoint, a converted bundle, or a
// map built by a test or benchmark.
type Source interface {
	Has(name string) bool
	Tensor(name string) (safetensors.Tensor, error)
	// Release hints that a tensor's bytes will not be read again (its pages
	// can leave memory). Sources without mapped files ignore it.
	Release(t safetensors.Tensor)
}

// Precision selects how linear layers are held in memory.
type Precision int

const (
	// Int8 quantizes decoder linears and the head at load (docs/design.md §3),
	// or maps them when the source already holds int8 (a converted bundle).
	Int8 Precision = iota
	// F32 keeps every weight in float32, for comparison with the fp32 oracle.
	F32
)

func (p Precision) String() string {
	if p == F32 {
		return "f32"
	}
	return "int8"
}

// ParsePrecision accepts "int8" and "f32".
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "int8", "":
		return Int8, nil
	case "f32":
		return F32, nil
	}
	return 0, fmt.Errorf("unknown precision %q (want int8 or f32)", s)
}

// ScalesSuffix names the companion tensor that holds an int8 weight's
// float16 block scales: "<name>.scales" next to the I8 tensor "<name>".
const ScalesSuffix = ".scales"

// checkShape returns an error naming the tensor and both shapes on mismatch.
func checkShape(t safetensors.Tensor, want []int) error {
	if !slices.Equal(t.Shape, want) {
		return fmt.Errorf("tensor %q has shape %v, want %v", t.Name, t.Shape, want)
	}
	return nil
}

// lookup fetches a tensor with a clear error when missing.
func lookup(src Source, name string) (safetensors.Tensor, error) {
	if !src.Has(name) {
		return safetensors.Tensor{}, fmt.Errorf("missing tensor %q", name)
	}
	return src.Tensor(name)
}

// Float32 loads a float tensor of exactly the given shape as a new []float32.
func Float32(src Source, name string, shape ...int) ([]float32, error) {
	t, err := lookup(src, name)
	if err != nil {
		return nil, err
	}
	if err := checkShape(t, shape); err != nil {
		return nil, err
	}
	out, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	src.Release(t)
	return out, nil
}

// Table is an embedding table used in place: rows are widened to float32 on
// lookup, so a bf16/f16 table costs its mapped size and nothing more.
type Table struct {
	Rows, Cols int
	t          safetensors.Tensor
}

// LoadTable binds a [rows, cols] float tensor without copying it.
func LoadTable(src Source, name string, rows, cols int) (*Table, error) {
	t, err := lookup(src, name)
	if err != nil {
		return nil, err
	}
	if err := checkShape(t, []int{rows, cols}); err != nil {
		return nil, err
	}
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("tensor %q: dtype %s, want a float type", name, t.DType)
	}
	return &Table{Rows: rows, Cols: cols, t: t}, nil
}

// Row widens row i into dst (len Cols).
func (tb *Table) Row(dst []float32, i int) {
	// Bounds were validated at load; i is checked by the caller's id check.
	_ = tb.t.Float32sInto(dst[:tb.Cols], i*tb.Cols)
}

// Tensor returns the underlying tensor (for conversion and inspection).
func (tb *Table) Tensor() safetensors.Tensor { return tb.t }

// Linear is a [Rows, Cols] weight (outputs × inputs) with an optional bias.
// Exactly one of F32 and Q8 is set.
type Linear struct {
	Rows, Cols int
	F32        []float32
	Q8         *quant.Matrix
	Bias       []float32
}

// Forward computes y[n, Rows] = x[n, Cols]·Wᵀ (+ bias).
func (l *Linear) Forward(p *kernels.Pool, y, x []float32, n int) {
	switch {
	case l.Q8 != nil && n == 1:
		p.MatVecQ8(y[:l.Rows], l.Q8, x[:l.Cols])
	case l.Q8 != nil:
		p.MatMulQ8(y[:n*l.Rows], l.Q8, x[:n*l.Cols], n)
	default:
		p.MatMulF32(y[:n*l.Rows], l.F32, l.Rows, l.Cols, x[:n*l.Cols], n)
	}
	l.addBias(y, n)
}

// ForwardEach computes the same product for n independent rows (n
// sequences' decode steps): an int8 matrix is read once for all n rows,
// each row computed exactly as Forward computes a single one.
func (l *Linear) ForwardEach(p *kernels.Pool, y, x []float32, n int) {
	if l.Q8 == nil || n == 1 {
		l.Forward(p, y, x, n)
		return
	}
	p.MatVecQ8Each(y[:n*l.Rows], l.Q8, x[:n*l.Cols], n)
	l.addBias(y, n)
}

// ForwardInt8 computes the int8 matrix's product with n activation rows
// already quantized to int8 (kernels.Q8Acts, the act-int8 opt-in), plus
// the bias. l must be int8.
func (l *Linear) ForwardInt8(p *kernels.Pool, y []float32, a *kernels.Q8Acts) {
	p.MatVecQ8Q8(y[:a.N*l.Rows], l.Q8, a)
	l.addBias(y, a.N)
}

// ForwardInt16 computes the int8 matrix's product with n float32 rows
// quantized to int16 per block (kernels.Pool.MatMulQ8Q16: prefill's
// act-int16 product), plus the bias. l must be int8.
func (l *Linear) ForwardInt16(p *kernels.Pool, y, x []float32, n int) {
	p.MatMulQ8Q16(y[:n*l.Rows], l.Q8, x[:n*l.Cols], n)
	l.addBias(y, n)
}

// Output is a linear layer and where its rows go, in a fused call.
type Output struct {
	L *Linear
	Y []float32
}

// ForwardInt16Fused computes up to kernels.MaxFused int8 layers' products
// with the same n activation rows quantized to int16 (kernels.Q16Acts: q,
// k and v; gate and up; or one layer alone), plus their biases, as one job
// on the pool (kernels.Pool.MatVecQ8Q16Fused); each output is exactly what
// the layer alone would give. The layers must be int8.
func ForwardInt16Fused(p *kernels.Pool, a *kernels.Q16Acts, outs ...Output) {
	var ps [kernels.MaxFused]kernels.Q8Product
	for i, o := range outs {
		ps[i] = kernels.Q8Product{Y: o.Y[:a.N*o.L.Rows], W: o.L.Q8}
	}
	p.MatVecQ8Q16Fused(a, ps[:len(outs)]...)
	for _, o := range outs {
		o.L.addBias(o.Y, a.N)
	}
}

// addBias adds the bias (if any) to each of y's n rows.
func (l *Linear) addBias(y []float32, n int) {
	if l.Bias == nil {
		return
	}
	for i := 0; i < n; i++ {
		kernels.Axpy(y[i*l.Rows:(i+1)*l.Rows], 1, l.Bias)
	}
}

// Bytes is the weight storage one full application reads.
func (l *Linear) Bytes() int64 {
	if l.Q8 != nil {
		return l.Q8.Bytes()
	}
	return 4 * int64(len(l.F32))
}

// Storage is that weight storage viewed as bytes (Bytes() in all), in
// place.
func (l *Linear) Storage() [][]byte {
	if l.Q8 != nil {
		return l.Q8.Storage()
	}
	if len(l.F32) == 0 {
		return nil
	}
	return [][]byte{unsafe.Slice((*byte)(unsafe.Pointer(&l.F32[0])), 4*len(l.F32))}
}

// LoadLinear binds name as a [rows, cols] linear layer at precision p.
// In Int8 mode an I8 tensor with a "<name>.scales" companion is mapped as is
// (no quantization at load); a float tensor is quantized row by row, and its
// source pages released, so the float weights are never held twice.
// In F32 mode float tensors are widened; pre-quantized ones are dequantized.
func LoadLinear(src Source, name string, rows, cols int, p Precision) (*Linear, error) {
	t, err := lookup(src, name)
	if err != nil {
		return nil, err
	}
	if err := checkShape(t, []int{rows, cols}); err != nil {
		return nil, err
	}
	l := &Linear{Rows: rows, Cols: cols}
	if t.DType == safetensors.I8 {
		m, err := mapQ8(src, t, rows, cols)
		if err != nil {
			return nil, err
		}
		if p == F32 {
			l.F32 = m.Dequantize()
		} else {
			l.Q8 = m
		}
		return l, nil
	}
	if p == F32 {
		// Huge pages: the matrix products stream these rows six at a time.
		l.F32 = hugepage.Float32s(rows * cols)
		if err = t.Float32sInto(l.F32, 0); err != nil {
			return nil, err
		}
		src.Release(t)
		return l, nil
	}
	m, err := quantizeRows(t, rows, cols)
	if err != nil {
		return nil, err
	}
	src.Release(t)
	l.Q8 = m
	return l, nil
}

// quantizeRows quantizes a float tensor row by row, the rows split across
// the CPUs (loading a 4B checkpoint is dominated by this).
func quantizeRows(t safetensors.Tensor, rows, cols int) (*quant.Matrix, error) {
	m := quant.New(rows, cols)
	bpr := m.BlocksPerRow()
	workers := min(goruntime.GOMAXPROCS(0), max(1, rows*cols/(1<<20)))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := make([]float32, cols)
			for r := w * rows / workers; r < (w+1)*rows/workers; r++ {
				if err := t.Float32sInto(row, r*cols); err != nil {
					errs[w] = err
					return
				}
				quant.QuantizeRow(m.Q[r*cols:(r+1)*cols], m.Scales[r*bpr:(r+1)*bpr], row)
			}
		}()
	}
	wg.Wait()
	return m, errors.Join(errs...)
}

// mapQ8 binds a stored int8 weight and its scales without copying.
func mapQ8(src Source, t safetensors.Tensor, rows, cols int) (*quant.Matrix, error) {
	st, err := lookup(src, t.Name+ScalesSuffix)
	if err != nil {
		return nil, fmt.Errorf("int8 tensor %q: %w", t.Name, err)
	}
	if st.DType != safetensors.F16 {
		return nil, fmt.Errorf("tensor %q: dtype %s, want F16 scales", st.Name, st.DType)
	}
	if err := checkShape(st, []int{rows, quant.BlocksPerRow(cols)}); err != nil {
		return nil, err
	}
	q, _ := t.Int8s()
	s, _ := st.Uint16s()
	m := &quant.Matrix{Rows: rows, Cols: cols, Q: q, Scales: s}
	return m, m.Validate()
}

// LoadBias loads an optional-size bias vector.
func LoadBias(src Source, name string, n int) ([]float32, error) { return Float32(src, name, n) }
