package weights

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
)

func src(t *testing.T) MapSource {
	t.Helper()
	w := make([]float32, 4*40)
	for i := range w {
		w[i] = float32(i%17) - 8
	}
	m, _ := quant.Quantize(w, 4, 40)
	q := make([]byte, len(m.Q))
	for i, v := range m.Q {
		q[i] = byte(v)
	}
	sc := make([]byte, 2*len(m.Scales))
	for i, v := range m.Scales {
		sc[2*i], sc[2*i+1] = byte(v), byte(v>>8)
	}
	return MapSource{
		"w":        safetensors.F32Tensor("w", []int{4, 40}, w),
		"q":        {Name: "q", DType: safetensors.I8, Shape: []int{4, 40}, Data: q},
		"q.scales": {Name: "q.scales", DType: safetensors.F16, Shape: []int{4, 2}, Data: sc},
		"noscale":  {Name: "noscale", DType: safetensors.I8, Shape: []int{4, 40}, Data: q},
		"v":        safetensors.F32Tensor("v", []int{3}, []float32{1, 2, 3}),
	}
}

func TestLoadLinear(t *testing.T) {
	s := src(t)
	f, err := LoadLinear(s, "w", 4, 40, F32)
	if err != nil || f.F32 == nil || f.Q8 != nil {
		t.Fatalf("f32: %v", err)
	}
	q, err := LoadLinear(s, "w", 4, 40, Int8)
	if err != nil || q.Q8 == nil {
		t.Fatalf("int8: %v", err)
	}
	mapped, err := LoadLinear(s, "q", 4, 40, Int8)
	if err != nil {
		t.Fatal(err)
	}
	// pre-quantized weights are used where they lie, bit-identical to quantizing at load
	if unsafe.Pointer(&mapped.Q8.Q[0]) != unsafe.Pointer(&s["q"].Data[0]) {
		t.Fatal("int8 tensor was copied instead of mapped")
	}
	for i := range q.Q8.Q {
		if q.Q8.Q[i] != mapped.Q8.Q[i] {
			t.Fatal("quantize-at-load and stored int8 differ")
		}
	}
	for i := range q.Q8.Scales {
		if q.Q8.Scales[i] != mapped.Q8.Scales[i] {
			t.Fatal("scales differ")
		}
	}
	// forward agrees between the stored and loaded forms
	x := make([]float32, 40)
	for i := range x {
		x[i] = float32(i) / 40
	}
	y1, y2 := make([]float32, 4), make([]float32, 4)
	q.Forward(nil, y1, x, 1)
	mapped.Forward(nil, y2, x, 1)
	for i := range y1 {
		if y1[i] != y2[i] {
			t.Fatal("forward differs")
		}
	}
	dq, err := LoadLinear(s, "q", 4, 40, F32)
	if err != nil || dq.F32[0] != float32(mapped.Q8.Q[0])*f16.ToF32(mapped.Q8.Scales[0]) {
		t.Fatalf("f32 mode must dequantize stored int8: %v", err)
	}
}

func TestErrorsNameTheTensor(t *testing.T) {
	s := src(t)
	for _, c := range []struct {
		err  error
		want string
	}{
		{func() error { _, err := LoadLinear(s, "missing", 4, 40, Int8); return err }(), `missing tensor "missing"`},
		{func() error { _, err := LoadLinear(s, "w", 40, 4, Int8); return err }(), `tensor "w" has shape [4 40], want [40 4]`},
		{func() error { _, err := LoadLinear(s, "noscale", 4, 40, Int8); return err }(), `missing tensor "noscale.scales"`},
		{func() error { _, err := Float32(s, "v", 4); return err }(), `tensor "v" has shape [3], want [4]`},
		{func() error { _, err := LoadTable(s, "q", 4, 40); return err }(), "want a float type"},
		{func() error { _, err := ParsePrecision("q4"); return err }(), `unknown precision "q4"`},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("got %v, want %q", c.err, c.want)
		}
	}
}
