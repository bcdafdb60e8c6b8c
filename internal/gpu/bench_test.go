package gpu_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// BenchmarkMatVecHead: the tiny model's head shape (151936 × 64), one token.
func BenchmarkMatVecHead(b *testing.B) {
	m := opsModel(b)
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 151936, 64
	for _, q8 := range []bool{false, true} {
		name := "f32"
		l := &weights.Linear{Rows: rows, Cols: cols}
		w := randVec(rng, rows*cols, 1)
		if q8 {
			name = "q8"
			l.Q8, _ = quant.Quantize(w, rows, cols)
		} else {
			l.F32 = w
		}
		mat, err := m.UploadLinear(l)
		if err != nil {
			b.Fatal(err)
		}
		xb, yb := upload(b, m, randVec(rng, cols, 1)), upload(b, m, make([]float32, rows))
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				record(b, m, func(r *gpu.Recorder) { r.Matmul(mat, xb, 0, yb, 0, rows, 1, false) })
			}
			b.SetBytes(l.Bytes())
		})
	}
}

// BenchmarkDecodeStep: one greedy step of tiny-a (int8) on the device.
func BenchmarkDecodeStep(b *testing.B) {
	m := deviceModel(b, weights.Int8)
	s, err := m.NewSequence()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	id := int32(100)
	for b.Loop() {
		p := int32(s.Len())
		if id, err = s.ForwardPick(ctx, []int32{id}, [][3]int32{{p, p, p}}, engine.Sampling{}, nil, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(m.BytesPerToken)
}
