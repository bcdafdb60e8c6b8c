package quant_test

import (
	"math"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/internal/hugepage"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// BenchmarkHugePages streams two 4B decoder layers' worth of int8 weights
// (~200 MB, far past the caches) through the decode kernel on every core,
// once from matrices New advised into huge pages and once from plain 4 KiB
// pages, alternating in one process; "4k/huge" is the ratio of the best
// times (> 1: huge pages are faster).
func BenchmarkHugePages(b *testing.B) {
	shapes := [][2]int{{4096, 2560}, {1024, 2560}, {1024, 2560}, {2560, 4096}, {9728, 2560}, {9728, 2560}, {2560, 9728}}
	alloc := func(huge bool) []*quant.Matrix {
		hugepage.SetEnabled(huge)
		defer hugepage.SetEnabled(true)
		var ws []*quant.Matrix
		for range 2 {
			for _, sh := range shapes {
				w := quant.New(sh[0], sh[1])
				for i := range w.Q {
					w.Q[i] = int8(i*7) | 1
				}
				for i := range w.Scales {
					w.Scales[i] = 0x2000
				}
				ws = append(ws, w)
			}
		}
		return ws
	}
	small, huge := alloc(false), alloc(true)
	pool := kernels.NewPool(0)
	defer pool.Close()
	x := make([]float32, 9728)
	for i := range x {
		x[i] = float32(i%13) - 6
	}
	y := make([]float32, 9728)
	pass := func(ws []*quant.Matrix) time.Duration {
		t := time.Now()
		for _, w := range ws {
			pool.MatVecQ8(y[:w.Rows], w, x[:w.Cols])
		}
		return time.Since(t)
	}
	best4k, bestHuge := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for b.Loop() {
		best4k = min(best4k, pass(small))
		bestHuge = min(bestHuge, pass(huge))
	}
	var bytes int64
	for _, w := range huge {
		bytes += w.Bytes()
	}
	b.ReportMetric(float64(bytes)/bestHuge.Seconds()/1e9, "huge-GB/s")
	b.ReportMetric(float64(bytes)/best4k.Seconds()/1e9, "4k-GB/s")
	b.ReportMetric(best4k.Seconds()/bestHuge.Seconds(), "4k/huge")
}
