package gpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Each kernel against its CPU counterpart (internal/kernels, weights) on
// random shapes with ragged tails: columns not a multiple of the 32-column
// block or of 4 bytes, rows not a multiple of a workgroup's rows, token
// counts not a multiple of the prefill tile.

// matmulTol: float32 sums of up to a few thousand terms in a different
// order differ by a few ulps of the partial sums.
const matmulTol = 2e-5

func TestMatmul(t *testing.T) {
	for _, style := range []bool{false, true} {
		t.Run(fmt.Sprintf("gpu-style=%v", style), func(t *testing.T) { testMatmul(t, style) })
	}
}

func testMatmul(t *testing.T, gpuStyle bool) {
	m := opsModel(t)
	m.SetGPUStyle(gpuStyle)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []struct{ rows, cols, n int }{
		{37, 70, 1}, {37, 70, 13}, {64, 96, 1}, {64, 96, 9}, {5, 3, 2}, {130, 1000, 1}, {130, 1000, 17}, {1, 33, 8},
	} {
		for _, q8 := range []bool{true, false} {
			for _, bias := range []bool{false, true} {
				name := fmt.Sprintf("%dx%d n=%d q8=%v bias=%v", sh.rows, sh.cols, sh.n, q8, bias)
				t.Run(name, func(t *testing.T) {
					w := randVec(rng, sh.rows*sh.cols, 1)
					l := &weights.Linear{Rows: sh.rows, Cols: sh.cols}
					if q8 {
						qm, err := quant.Quantize(w, sh.rows, sh.cols)
						if err != nil {
							t.Fatal(err)
						}
						l.Q8 = qm
					} else {
						l.F32 = w
					}
					if bias {
						l.Bias = randVec(rng, sh.rows, 1)
					}
					x := randVec(rng, sh.n*sh.cols, 1)
					want := make([]float32, sh.n*sh.rows)
					l.Forward(nil, want, x, sh.n)
					mat, err := m.UploadLinear(l)
					if err != nil {
						t.Fatal(err)
					}
					xb, yb := upload(t, m, x), upload(t, m, make([]float32, sh.n*sh.rows))
					record(t, m, func(r *gpu.Recorder) { r.Matmul(mat, xb, 0, yb, 0, sh.rows, sh.n, false) })
					compare(t, "matmul", read(t, yb, sh.n*sh.rows), want, matmulTol)

					// Accumulating into y adds the product to what is there.
					record(t, m, func(r *gpu.Recorder) { r.Matmul(mat, xb, 0, yb, 0, sh.rows, sh.n, true) })
					for i := range want {
						want[i] *= 2
					}
					compare(t, "matmul accumulate", read(t, yb, sh.n*sh.rows), want, matmulTol)
				})
			}
		}
	}
}

func TestNorm(t *testing.T) { bothStyles(t, testNorm) }

// bothStyles runs a kernel test with the variants a CPU driver gets and
// with those a GPU gets (the model's gpuStyle), both on this device.
func bothStyles(t *testing.T, test func(t *testing.T, m *gpu.Model)) {
	for _, style := range []bool{false, true} {
		t.Run(fmt.Sprintf("gpu-style=%v", style), func(t *testing.T) {
			m := opsModel(t)
			m.SetGPUStyle(style)
			test(t, m)
		})
	}
}

func testNorm(t *testing.T, m *gpu.Model) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 31, 64, 100, 1000} {
		for _, layer := range []bool{false, true} {
			rows := 3
			x := randVec(rng, rows*d, 3)
			w, b := randVec(rng, d, 1), randVec(rng, d, 1)
			want := make([]float32, rows*d)
			for i := 0; i < rows; i++ {
				if layer {
					kernels.LayerNorm(want[i*d:(i+1)*d], x[i*d:(i+1)*d], w, b, 1e-6)
				} else {
					kernels.RMSNorm(want[i*d:(i+1)*d], x[i*d:(i+1)*d], w, 1e-6)
				}
			}
			xb, yb, wb, bb := upload(t, m, x), upload(t, m, make([]float32, rows*d)), upload(t, m, w), upload(t, m, b)
			record(t, m, func(r *gpu.Recorder) { r.Norm(layer, xb, 0, yb, 0, wb, bb, d, rows, 1e-6) })
			compare(t, fmt.Sprintf("norm d=%d layer=%v", d, layer), read(t, yb, rows*d), want, 1e-5)
		}
	}
}

func TestRope(t *testing.T) { bothStyles(t, testRope) }

func testRope(t *testing.T, m *gpu.Model) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range []struct{ heads, n, hd int }{{4, 3, 32}, {2, 5, 128}, {3, 1, 6}, {1, 2, 200}} {
		for _, norm := range []bool{true, false} {
			stride := sh.heads*sh.hd + 7 // rows wider than the heads: an offset view
			off := 3
			x := randVec(rng, sh.n*stride, 2)
			w := randVec(rng, sh.hd, 1)
			half := sh.hd / 2
			rot := make([]float32, sh.n*sh.hd)
			for i := 0; i < sh.n; i++ {
				for j := 0; j < half; j++ {
					a := rng.Float64() * 100
					rot[i*sh.hd+j], rot[i*sh.hd+half+j] = float32(math.Cos(a)), float32(math.Sin(a))
				}
			}
			want := append([]float32(nil), x...)
			const scale = 0.5
			for i := 0; i < sh.n; i++ {
				for h := 0; h < sh.heads; h++ {
					v := want[i*stride+off+h*sh.hd : i*stride+off+(h+1)*sh.hd]
					if norm {
						kernels.RMSNorm(v, v, w, 1e-6)
					}
					kernels.Rotate(v, rot[i*sh.hd:i*sh.hd+half], rot[i*sh.hd+half:(i+1)*sh.hd])
					for j := range v {
						v[j] *= scale
					}
				}
			}
			xb, rb := upload(t, m, x), upload(t, m, rot)
			var wb gpu.Buffer
			if norm {
				wb = upload(t, m, w)
			}
			record(t, m, func(r *gpu.Recorder) { r.Rope(xb, wb, rb, sh.heads, sh.n, sh.hd, stride, off, 1e-6, scale) })
			compare(t, fmt.Sprintf("rope %+v norm=%v", sh, norm), read(t, xb, sh.n*stride), want, 1e-5)
		}
	}
}

func TestAct(t *testing.T) {
	m := opsModel(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 63, 1000, 70000} {
		x, up := randVec(rng, n, 8), randVec(rng, n, 2)
		for mode, ref := range []func(x []float32){
			func(x []float32) {
				kernels.SiLU(x)
				for i := range x {
					x[i] *= up[i]
				}
			},
			kernels.GELUTanh, kernels.GELUErf,
		} {
			want := append([]float32(nil), x...)
			ref(want)
			xb, ub := upload(t, m, x), upload(t, m, up)
			record(t, m, func(r *gpu.Recorder) { r.Act(uint32(mode), xb, ub, n) })
			compare(t, fmt.Sprintf("act mode %d n=%d", mode, n), read(t, xb, n), want, 2e-6)
		}
	}
}

func TestAddAndCopy(t *testing.T) {
	m := opsModel(t)
	rng := rand.New(rand.NewPCG(9, 10))
	n := 5000
	x, y := randVec(rng, n+3, 1), randVec(rng, n+5, 1)
	want := append([]float32(nil), y...)
	for i := 0; i < n; i++ {
		want[5+i] += x[3+i]
	}
	xb, yb := upload(t, m, x), upload(t, m, y)
	record(t, m, func(r *gpu.Recorder) { r.Add(false, xb, 3, yb, 5, n) })
	compare(t, "add", read(t, yb, n+5), want, 0)
	for i := 0; i < n; i++ {
		want[5+i] = x[3+i]
	}
	record(t, m, func(r *gpu.Recorder) { r.Add(true, xb, 3, yb, 5, n) })
	compare(t, "copy", read(t, yb, n+5), want, 0)
}

// The attention tests run both kernels: attention_rows (what a CPU driver
// gets) and the shared-memory one GPUs get.
func TestAttentionCausalF16(t *testing.T) {
	for _, style := range []bool{false, true} {
		t.Run(fmt.Sprintf("gpu-style=%v", style), func(t *testing.T) { testAttentionCausalF16(t, style) })
	}
}

func testAttentionCausalF16(t *testing.T, gpuStyle bool) {
	m := opsModel(t)
	m.SetGPUStyle(gpuStyle)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, sh := range []struct{ heads, kvHeads, hd, base, n int }{{4, 2, 32, 0, 5}, {4, 2, 32, 70, 1}, {8, 1, 128, 130, 3}, {2, 2, 6, 0, 1}} {
		kvd, qd := sh.kvHeads*sh.hd, sh.heads*sh.hd
		rows := sh.base + sh.n
		k, v := randVec(rng, rows*kvd, 1), randVec(rng, rows*kvd, 1)
		q := randVec(rng, sh.n*qd, 1)
		k16, v16 := make([]uint16, len(k)), make([]uint16, len(v))
		for i := range k {
			k16[i], v16[i] = f16.FromF32(k[i]), f16.FromF32(v[i])
		}
		scale := float32(1 / math.Sqrt(float64(sh.hd)))
		want := make([]float32, sh.n*qd)
		a := kernels.Attention{Q: q, Out: want, K16: k16, V16: v16, N: sh.n, Base: sh.base, Heads: sh.heads, KVHeads: sh.kvHeads, Dim: sh.hd,
			Causal: true, Scale: scale, Scores: make([]float32, rows)}
		a.Run()
		// The cache is filled by the kvstore kernel from float32 rows, as
		// the decoder does.
		kc, vc := upload(t, m, make([]float32, (rows*kvd+1)/2)), upload(t, m, make([]float32, (rows*kvd+1)/2))
		kb, vb, qb, ob := upload(t, m, k), upload(t, m, v), upload(t, m, q), upload(t, m, make([]float32, sh.n*qd))
		all := ints(t, m, append([]int32{0}, make([]int32, rows)...))
		record(t, m, func(r *gpu.Recorder) {
			r.KVStore(all, kb, kc, kvd, rows)
			r.KVStore(all, vb, vc, kvd, rows)
		})
		tok := ints(t, m, append([]int32{int32(sh.base)}, make([]int32, sh.n)...))
		record(t, m, func(r *gpu.Recorder) {
			r.Attention(true, tok, qb, kc, vc, ob, sh.heads, sh.kvHeads, sh.hd, sh.n, 0, qd, kvd, 0, 0, qd, scale)
		})
		compare(t, fmt.Sprintf("attention causal %+v", sh), read(t, ob, sh.n*qd), want, 1e-5)
	}
}

func TestAttentionFull(t *testing.T) {
	for _, style := range []bool{false, true} {
		t.Run(fmt.Sprintf("gpu-style=%v", style), func(t *testing.T) { testAttentionFull(t, style) })
	}
}

func testAttentionFull(t *testing.T, gpuStyle bool) {
	m := opsModel(t)
	m.SetGPUStyle(gpuStyle)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, sh := range []struct{ heads, hd, n int }{{4, 16, 16}, {2, 64, 100}, {3, 8, 1}} {
		hidden := sh.heads * sh.hd
		qkv := randVec(rng, sh.n*3*hidden, 1)
		want := make([]float32, sh.n*hidden)
		a := kernels.Attention{Q: qkv, K: qkv[hidden:], V: qkv[2*hidden:], QStride: 3 * hidden, KVStride: 3 * hidden, Out: want,
			N: sh.n, Heads: sh.heads, KVHeads: sh.heads, Dim: sh.hd, Scale: 1, Scores: make([]float32, sh.n)}
		a.Run()
		b, ob := upload(t, m, qkv), upload(t, m, make([]float32, sh.n*hidden))
		tok := ints(t, m, []int32{0})
		record(t, m, func(r *gpu.Recorder) {
			r.Attention(false, tok, b, b, b, ob, sh.heads, sh.heads, sh.hd, sh.n, sh.n, 3*hidden, 3*hidden, hidden, 2*hidden, hidden, 1)
		})
		compare(t, fmt.Sprintf("attention full %+v", sh), read(t, ob, sh.n*hidden), want, 1e-5)
	}
}

func TestArgmax(t *testing.T) {
	m := opsModel(t)
	rng := rand.New(rand.NewPCG(15, 16))
	out := ints(t, m, []int32{0, 0})
	for _, tc := range []struct {
		name string
		edit func(x []float32)
		want int32
		ok   bool
	}{
		{"max at 1234", func(x []float32) { x[1234] = 10 }, 1234, true},
		{"tie picks the lower index", func(x []float32) { x[70001], x[5] = 10, 10 }, 5, true},
		{"last element", func(x []float32) { x[len(x)-1] = 10 }, int32(151936 - 1), true},
		{"NaN is reported", func(x []float32) { x[9], x[7] = float32(math.NaN()), 10 }, 7, false},
		{"Inf is reported", func(x []float32) { x[9] = float32(math.Inf(1)) }, -1, false},
	} {
		x := randVec(rng, 151936, 1)
		tc.edit(x)
		xb := upload(t, m, x)
		record(t, m, func(r *gpu.Recorder) { r.Argmax(xb, 0, len(x), out) })
		got := readInts(t, out, 2)
		if (got[1] == 1) != tc.ok || (tc.want >= 0 && got[0] != tc.want) {
			t.Errorf("%s: got index %d finite=%d, want %d finite=%v", tc.name, got[0], got[1], tc.want, tc.ok)
		}
	}
}

func TestEmbed(t *testing.T) {
	m := opsModel(t)
	rng := rand.New(rand.NewPCG(17, 18))
	const vocab, hidden, stride = 50, 70, 3 * 70
	table := randVec(rng, vocab*hidden, 1)
	images := randVec(rng, 4*stride, 1)
	ids := []int32{3, vocab + 2, 49, 0, vocab}
	want := make([]float32, len(ids)*hidden)
	encodings := map[uint32][]byte{}
	f32b := make([]byte, 0, 4*len(table))
	f16b := make([]byte, 0, 2*len(table))
	bf16b := make([]byte, 0, 2*len(table))
	for _, v := range table {
		b := math.Float32bits(v)
		f32b = append(f32b, byte(b), byte(b>>8), byte(b>>16), byte(b>>24))
		h := f16.FromF32(v)
		f16b = append(f16b, byte(h), byte(h>>8))
		bf16b = append(bf16b, byte(b>>16), byte(b>>24))
	}
	encodings[0], encodings[1], encodings[2] = f32b, f16b, bf16b
	for format := uint32(0); format < 3; format++ {
		for i, id := range ids {
			for d := 0; d < hidden; d++ {
				var v float32
				if id >= vocab {
					v = images[int(id-vocab)*stride+d]
				} else {
					v = table[int(id)*hidden+d]
					switch format {
					case 1:
						v = f16.ToF32(f16.FromF32(v))
					case 2:
						v = math.Float32frombits(math.Float32bits(v) &^ 0xffff)
					}
				}
				want[i*hidden+d] = v
			}
		}
		tb, err := m.UploadBytes(encodings[format])
		if err != nil {
			t.Fatal(err)
		}
		tok, ib, xb := ints(t, m, append([]int32{0}, ids...)), upload(t, m, images), upload(t, m, make([]float32, len(ids)*hidden))
		record(t, m, func(r *gpu.Recorder) { r.Embed(format, tok, tb, ib, xb, hidden, vocab, stride, len(ids)) })
		compare(t, fmt.Sprintf("embed format %d", format), read(t, xb, len(ids)*hidden), want, 0)
	}
}
