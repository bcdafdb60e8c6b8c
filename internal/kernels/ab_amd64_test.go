//go:build !noasm

package kernels

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/quant"
)

// TEMP: A/B of the old and new AVX-512 kernels on a DRAM-sized set (two 4B
// layers, ~200 MB) on the pool, alternating within each iteration.
func BenchmarkABDRAM(b *testing.B) {
	var ws []*quant.Matrix
	for range 2 {
		for _, sh := range decoderShapes[:5] {
			ws = append(ws, benchQ8(sh.rows, sh.cols))
			if sh.rows == 9728 {
				ws = append(ws, benchQ8(sh.rows, sh.cols))
			}
		}
	}
	var bytes int64
	for _, w := range ws {
		bytes += w.Bytes()
	}
	x := randF32(rand.New(rand.NewPCG(1, 1)), 9728)
	y := make([]float32, 9728)
	var ta, tb, tc time.Duration
	for b.Loop() {
		t0 := time.Now()
		for _, w := range ws {
			v := unsafe.Slice((*float32)(unsafe.Pointer(&w.Q[0])), len(w.Q)/4)
			var wg sync.WaitGroup
			h := len(v) / 2 &^ 7
			for _, part := range [][]float32{v[:h], v[h:]} {
				wg.Add(1)
				go func() { defer wg.Done(); sink += sumFloats(part) }()
			}
			wg.Wait()
		}
		tc += time.Since(t0)
		for v := range 2 {
			useOldQ8 = v == 0
			t0 := time.Now()
			for _, w := range ws {
				benchPool.MatVecQ8(y[:w.Rows], w, x[:w.Cols])
			}
			if v == 0 {
				ta += time.Since(t0)
			} else {
				tb += time.Since(t0)
			}
		}
	}
	useOldQ8 = false
	b.ReportMetric(float64(bytes)*float64(b.N)/tc.Seconds()/1e9, "stream-GB/s")
	b.ReportMetric(float64(bytes)*float64(b.N)/ta.Seconds()/1e9, "old-GB/s")
	b.ReportMetric(float64(bytes)*float64(b.N)/tb.Seconds()/1e9, "new-GB/s")
}

var sink float32
