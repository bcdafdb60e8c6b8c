package kernels

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/hugepage"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// 4B decoder shapes (docs/design.md: hidden 2560, 32 q heads and 8 kv heads of
// 128, SwiGLU 9728, vocabulary 151936).
var decoderShapes = []struct {
	name       string
	rows, cols int
}{
	{"q_4096x2560", 4096, 2560},
	{"kv_1024x2560", 1024, 2560},
	{"o_2560x4096", 2560, 4096},
	{"gateup_9728x2560", 9728, 2560},
	{"down_2560x9728", 2560, 9728},
	{"head_151936x2560", 151936, 2560},
}

// benchQ8 fills a matrix cheaply (benchmarks need realistic sizes, not
// statistically good randomness).
func benchQ8(rows, cols int) *quant.Matrix {
	m := quant.New(rows, cols)
	s := uint32(12345)
	for i := range m.Q {
		s = s*1664525 + 1013904223
		m.Q[i] = int8(s>>24) | 1
	}
	for i := range m.Scales {
		m.Scales[i] = f16.FromF32(0.01 + float32(i%7)*0.001)
	}
	return m
}

// benchPool runs the benchmarks' products on every core, as a model does.
var benchPool = NewPool(0)

func BenchmarkMatVecQ8(b *testing.B) {
	for _, sh := range decoderShapes {
		b.Run(sh.name, func(b *testing.B) {
			w := benchQ8(sh.rows, sh.cols)
			x := randF32(rand.New(rand.NewPCG(1, 1)), sh.cols)
			y := make([]float32, sh.rows)
			b.SetBytes(w.Bytes())
			b.ResetTimer()
			for b.Loop() {
				benchPool.MatVecQ8(y, w, x)
			}
		})
	}
}

func BenchmarkMatMulQ8(b *testing.B) {
	for _, sh := range decoderShapes[:5] {
		for _, n := range []int{64} {
			b.Run(sh.name, func(b *testing.B) {
				w := benchQ8(sh.rows, sh.cols)
				x := randF32(rand.New(rand.NewPCG(1, 1)), n*sh.cols)
				y := make([]float32, n*sh.rows)
				b.ResetTimer()
				for b.Loop() {
					benchPool.MatMulQ8(y, w, x, n)
				}
				b.ReportMetric(2*float64(n*sh.rows*sh.cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// The vision tower's MLP shape: 784 patches of a 448×448 image, 1024 → 4096.
func BenchmarkMatMulF32(b *testing.B) {
	for _, sh := range []struct {
		name          string
		n, rows, cols int
	}{{"vision_784x1024x4096", 784, 4096, 1024}, {"vision_784x4096x1024", 784, 1024, 4096}} {
		b.Run(sh.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			w := randF32(rng, sh.rows*sh.cols)
			x := randF32(rng, sh.n*sh.cols)
			y := make([]float32, sh.n*sh.rows)
			b.ResetTimer()
			for b.Loop() {
				benchPool.MatMulF32(y, w, sh.rows, sh.cols, x, sh.n)
			}
			b.ReportMetric(2*float64(sh.n*sh.rows*sh.cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkReadBandwidth(b *testing.B) {
	for b.Loop() {
		gbs, err := MeasureReadBandwidth(context.Background(), 1<<30, runtime.GOMAXPROCS(0))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(gbs, "GB/s")
	}
}

// BenchmarkMatVecQ8Paths compares the kernel paths on one core with the
// weights in cache (512 KiB): the compute ceiling of each path, which
// decides whether decode can reach the memory bandwidth on a machine whose
// bandwidth per core exceeds it.
func BenchmarkMatVecQ8Paths(b *testing.B) {
	saved := Path()
	defer SetPath(saved)
	// The package function runs on one core (no pool).
	w := benchQ8(256, 2048)
	x := randF32(rand.New(rand.NewPCG(1, 1)), 2048)
	y := make([]float32, 256)
	for _, p := range Paths() {
		SetPath(p)
		b.Run(p, func(b *testing.B) {
			b.SetBytes(w.Bytes())
			for b.Loop() {
				MatVecQ8(y, w, x)
			}
		})
	}
}

// batchBenchCases are the shapes the batched products are benchmarked on:
// one core with the weights in cache (the compute ceiling) and the pool
// with the 4B model's gate/up matrix (streamed from memory).
var batchBenchCases = []struct {
	name       string
	rows, cols int
	pool       *Pool
}{{"cache_256x2048", 256, 2048, nil}, {"gateup_9728x2560", 9728, 2560, benchPool}}

// BenchmarkMatVecQ8Each compares n sequences' products sharing one pass
// over the weights (MatVecQ8Each) with n separate MatVecQ8 calls. The two
// alternate within each iteration and the fastest of each is kept, so a
// noisy shared machine slows both alike: "speedup" is the separate calls'
// best time over the batched call's, "seq/s" the batched call's vectors
// per second at its best. Cases: one core with the weights in cache (512
// KiB, the compute cost) and the pool with the 4B model's gate/up matrix
// (25 MB, streamed from memory).
func BenchmarkMatVecQ8Each(b *testing.B) {
	saved := Path()
	defer SetPath(saved)
	for _, c := range batchBenchCases {
		w := benchQ8(c.rows, c.cols)
		x := randF32(rand.New(rand.NewPCG(1, 1)), 8*c.cols)
		y := make([]float32, 8*c.rows)
		for _, p := range Paths() {
			SetPath(p)
			for _, n := range []int{1, 2, 4, 8} {
				b.Run(fmt.Sprintf("%s/%s/n=%d", c.name, p, n), func(b *testing.B) {
					each, sep := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
					for b.Loop() {
						t0 := time.Now()
						c.pool.MatVecQ8Each(y[:n*c.rows], w, x[:n*c.cols], n)
						t1 := time.Now()
						for i := 0; i < n; i++ {
							c.pool.MatVecQ8(y[i*c.rows:(i+1)*c.rows], w, x[i*c.cols:(i+1)*c.cols])
						}
						each, sep = min(each, t1.Sub(t0)), min(sep, time.Since(t1))
					}
					b.ReportMetric(float64(sep)/float64(each), "speedup")
					b.ReportMetric(float64(n)/each.Seconds(), "seq/s")
				})
			}
		}
	}
}

func BenchmarkPeakGFLOPs(b *testing.B) {
	for b.Loop() {
		g, err := MeasurePeakGFLOPs(context.Background(), runtime.GOMAXPROCS(0))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(g, "GFLOP/s")
	}
}

// BenchmarkMatMulAB compares the products a call takes (gemm: the
// weight-panel product where it applies, else the packed one) with the
// dot-product tiles (tiles) and the packed product (packed) in the same
// process, alternating within each iteration and keeping the fastest of
// each, so a noisy shared machine slows all alike. "core" cases run on one goroutine (the per-core
// compute ceiling), the others on the pool; GFLOP/s are at the best time.
func BenchmarkMatMulAB(b *testing.B) {
	saved := Path()
	defer SetPath(saved)
	defer func() { gemmOff = false }()
	for _, c := range []struct {
		name          string
		n, rows, cols int
		q8, pool      bool
	}{
		{"core_f32_784x1024x1024", 784, 1024, 1024, false, false},
		{"core_q8_211x512x2560", 211, 512, 2560, true, false},
		{"vision_784x4096x1024", 784, 4096, 1024, false, true},
		{"vision_784x1024x4096", 784, 1024, 4096, false, true},
		{"gateup_211x9728x2560", 211, 9728, 2560, true, true},
		{"down_211x2560x9728", 211, 2560, 9728, true, true},
		{"q8_16x2560x2560", 16, 2560, 2560, true, true},
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		x := randF32(rng, c.n*c.cols)
		y := make([]float32, c.n*c.rows)
		var wq *quant.Matrix
		var wf []float32
		if c.q8 {
			wq = benchQ8(c.rows, c.cols)
		} else {
			wf = randF32(rng, c.rows*c.cols)
		}
		pool := benchPool
		if !c.pool {
			pool = nil
		}
		run := func() {
			if c.q8 {
				pool.MatMulQ8(y, wq, x, c.n)
			} else {
				pool.MatMulF32(y, wf, c.rows, c.cols, x, c.n)
			}
		}
		for _, p := range Paths() {
			if p == PathGeneric {
				continue
			}
			SetPath(p)
			b.Run(c.name+"/"+p, func(b *testing.B) {
				best := [3]time.Duration{math.MaxInt64, math.MaxInt64, math.MaxInt64}
				for b.Loop() {
					for v := range 3 {
						gemmOff, wpanelOff = v == 1, v == 2
						t0 := time.Now()
						run()
						best[v] = min(best[v], time.Since(t0))
					}
				}
				gemmOff, wpanelOff = false, false
				flop := 2 * float64(c.n*c.rows*c.cols)
				b.ReportMetric(flop/best[0].Seconds()/1e9, "gemm-GFLOP/s")
				b.ReportMetric(flop/best[1].Seconds()/1e9, "tiles-GFLOP/s")
				b.ReportMetric(flop/best[2].Seconds()/1e9, "packed-GFLOP/s")
			})
		}
	}
}

// BenchmarkAttentionVision is the vision tower's attention (784 patches,
// 16 heads of 64, bidirectional, the matrix-product path) on the pool,
// packed product against the dot-product tiles, interleaved as in
// BenchmarkMatMulAB.
func BenchmarkAttentionVision(b *testing.B) {
	const n, heads, dim = 784, 16, 64
	rng := rand.New(rand.NewPCG(1, 1))
	qkv := randF32(rng, n*3*heads*dim)
	out := make([]float32, n*heads*dim)
	a := Attention{
		Q: qkv, K: qkv[heads*dim:], V: qkv[2*heads*dim:], QStride: 3 * heads * dim, KVStride: 3 * heads * dim,
		Out: out, N: n, Heads: heads, KVHeads: heads, Dim: dim, Scale: 0.125, Work: &AttentionWork{}, Pool: benchPool,
	}
	defer func() { gemmOff = false }()
	best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
	for b.Loop() {
		for v := range 2 {
			gemmOff = v == 1
			t0 := time.Now()
			a.Run()
			best[v] = min(best[v], time.Since(t0))
		}
	}
	flop := 4 * float64(n*n*dim*heads)
	b.ReportMetric(flop/best[0].Seconds()/1e9, "gemm-GFLOP/s")
	b.ReportMetric(flop/best[1].Seconds()/1e9, "tiles-GFLOP/s")
}

// BenchmarkMatVecQ8Core is the per-core compute ceiling of decode's kernel:
// one goroutine (no pool), the weights cache-resident (the 4B decoder's
// shapes cut to ~1–2.5 MB of rows, so L2/L3 serve them), bytes/s = weight
// bytes streamed per second. Decode reaches the memory wall only if this
// is well above the per-core share of the read bandwidth. down's 9728
// inputs (38 KB of float32 x) test the kernel with x not L1-resident.
func BenchmarkMatVecQ8Core(b *testing.B) {
	for _, sh := range []struct {
		name       string
		rows, cols int
	}{{"l1_8x2048", 8, 2048}, {"l2_q_128x2560", 128, 2560}, {"l2_down_48x9728", 48, 9728}, {"l3_q_512x2560", 512, 2560}, {"l3_o_320x4096", 320, 4096}, {"l3_down_256x9728", 256, 9728}} {
		b.Run(sh.name, func(b *testing.B) {
			w := benchQ8(sh.rows, sh.cols)
			x := randF32(rand.New(rand.NewPCG(1, 1)), sh.cols)
			y := make([]float32, sh.rows)
			b.SetBytes(w.Bytes())
			for b.Loop() {
				MatVecQ8(y, w, x)
			}
		})
	}
}

// BenchmarkMatVecQ8DRAM is decode's matrix products on a DRAM-sized set
// (two of the 4B decoder's layers, ~200 MB, so no cache holds it) on the
// pool, beside a plain read of as many bytes (readXor, the bandwidth probe's read, over a buffer of
// ones in huge pages, as the weights are, on every thread), in each
// activation format: "f32" the float32 kernel (MatVecQ8), "int16" the
// int8×int16 one (MatVecQ8Q16, q/k/v and gate/up fused as decode runs
// them, the activations quantized once per input outside the timing).
// Each is reported in GB/s and as a fraction of the plain read ("of-stream"),
// all the best pass of the run (a shared machine only ever slows a pass),
// so other processes' load cancels out as far as it can. "jobs-read" reads
// the same weights in the same pool jobs as the int16 products
// (readRowsTask): int16-of-jobs-read is the kernels' own cost, apart from
// the job structure's. "guided-speedup" is the median, over the passes, of
// the int16 products' time in fixed chunks (a quarter of each thread's
// share, as before runRows) over their time in guided chunks, the two run
// back to back in alternating order.
func BenchmarkMatVecQ8DRAM(b *testing.B) {
	type layer struct{ q, k, v, o, gate, up, down *quant.Matrix }
	var ls []layer
	var bytes int64
	nl := 2
	if v, err := strconv.Atoi(os.Getenv("VLMRT_DRAM_LAYERS")); err == nil && v > 0 {
		nl = v // e.g. 36: the 4B decoder's whole 3.9 GB
	}
	for range nl {
		l := layer{q: benchQ8(4096, 2560), k: benchQ8(1024, 2560), v: benchQ8(1024, 2560), o: benchQ8(2560, 4096),
			gate: benchQ8(9728, 2560), up: benchQ8(9728, 2560), down: benchQ8(2560, 9728)}
		for _, w := range []*quant.Matrix{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
			bytes += w.Bytes()
		}
		ls = append(ls, l)
	}
	ones := make([]byte, bytes)
	hugepage.Advise(ones)
	for i := range ones {
		ones[i] = 1
	}
	x := randF32(rand.New(rand.NewPCG(1, 1)), 9728)
	y := make([]float32, 3*9728)
	var a2560, a4096, a9728 Q16Acts
	a2560.Quantize(x, 1, 2560)
	a4096.Quantize(x, 1, 4096)
	a9728.Quantize(x, 1, 9728)
	threads := benchPool.Threads()
	sums := make([]uint64, threads)
	best := [4]time.Duration{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64}
	var rt readRowsTask
	int16 := func() {
		for _, l := range ls {
			benchPool.MatVecQ8Q16Fused(&a2560, Q8Product{y[:4096], l.q}, Q8Product{y[4096:5120], l.k}, Q8Product{y[5120:6144], l.v})
			benchPool.MatVecQ8Q16(y[:2560], l.o, &a4096)
			benchPool.MatVecQ8Q16Fused(&a2560, Q8Product{y[:9728], l.gate}, Q8Product{y[9728:19456], l.up})
			benchPool.MatVecQ8Q16(y[:2560], l.down, &a9728)
		}
	}
	var guided []float64 // per pass: the int16 products' time in fixed chunks over guided
	for b.Loop() {
		t0 := time.Now()
		part := (len(ones)/threads + 127) &^ 127
		var wg sync.WaitGroup
		for t := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sums[t] ^= readXor(ones[min(t*part, len(ones)):min((t+1)*part, len(ones))])
			}()
		}
		wg.Wait()
		t1 := time.Now()
		for _, l := range ls {
			for _, w := range []*quant.Matrix{l.q, l.k, l.v, l.o, l.gate, l.up, l.down} {
				benchPool.MatVecQ8(y[:w.Rows], w, x[:w.Cols])
			}
		}
		t2 := time.Now()
		int16()
		t3 := time.Now()
		for _, l := range ls {
			readRows(benchPool, &rt, l.q, l.k, l.v)
			readRows(benchPool, &rt, l.o)
			readRows(benchPool, &rt, l.gate, l.up)
			readRows(benchPool, &rt, l.down)
		}
		t4 := time.Now()
		var pair [2]time.Duration // guided, fixed; which runs first alternates
		for i := range 2 {
			c := (i + len(guided)) % 2
			fixedChunks = c == 1
			t := time.Now()
			int16()
			pair[c] = time.Since(t)
		}
		fixedChunks = false
		guided = append(guided, pair[1].Seconds()/pair[0].Seconds())
		best = [4]time.Duration{min(best[0], t1.Sub(t0)), min(best[1], t2.Sub(t1)), min(best[2], t3.Sub(t2)), min(best[3], t4.Sub(t3))}
	}
	slices.Sort(guided)
	b.ReportMetric(guided[len(guided)/2], "guided-speedup")
	gbs := func(d time.Duration) float64 { return float64(bytes) / d.Seconds() / 1e9 }
	b.ReportMetric(gbs(best[0]), "stream-GB/s")
	b.ReportMetric(gbs(best[1]), "f32-GB/s")
	b.ReportMetric(gbs(best[2]), "int16-GB/s")
	b.ReportMetric(best[0].Seconds()/best[1].Seconds(), "f32-of-stream")
	b.ReportMetric(best[0].Seconds()/best[2].Seconds(), "int16-of-stream")
	b.ReportMetric(gbs(best[3]), "jobs-read-GB/s")
	b.ReportMetric(best[3].Seconds()/best[2].Seconds(), "int16-of-jobs-read")
}

// readRowsTask reads the weights and scales of up to 3 matrices' rows as
// one pool job split exactly as MatVecQ8Q16Fused splits its products
// (same rows, same grain), XOR-ing their bytes (readXor): the plain read the
// products would be if their arithmetic cost nothing, so int16-of-jobs-read
// is the kernels' own share of the gap to the stream (the rest is the job
// structure: a few hundred jobs a token, each thread's chunks restarting
// the prefetchers).
type readRowsTask struct {
	ws   [MaxFused]*quant.Matrix
	off  [MaxFused + 1]int
	n    int
	sums [64]uint64
}

func (t *readRowsTask) run(slot, lo, hi int) {
	for i := 0; i < t.n && lo < hi; i++ {
		if lo >= t.off[i+1] {
			continue
		}
		end := min(hi, t.off[i+1])
		w := t.ws[i]
		r0, r1, bpr := lo-t.off[i], end-t.off[i], w.BlocksPerRow()
		q, s := w.Q[r0*w.Cols:r1*w.Cols], w.Scales[r0*bpr:r1*bpr]
		t.sums[slot%64] ^= readXor(unsafe.Slice((*byte)(unsafe.Pointer(&q[0])), len(q))) ^
			readXor(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 2*len(s)))
		lo = end
	}
}

// readRows runs t over the rows of ws on p, as MatVecQ8Q16Fused would.
func readRows(p *Pool, t *readRowsTask, ws ...*quant.Matrix) {
	rows := 0
	for i, w := range ws {
		t.ws[i], t.off[i] = w, rows
		rows += w.Rows
	}
	t.n, t.off[len(ws)] = len(ws), rows
	p.acquire()
	p.runRows(t, rows, ws[0].Cols)
	p.release()
}
