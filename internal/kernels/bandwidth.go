package kernels

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/hugepage"
)

// MeasureReadBandwidth estimates the machine's sustained memory read
// bandwidth in GB/s (10⁹ bytes per second): threads goroutines sum disjoint
// parts of a bytes-long buffer (it should be far larger than the last-level
// cache, e.g. 1 GiB), and the best of several passes is reported, since
// shared hosts only ever make a pass slower. It stops early, with ctx's
// error, when ctx is cancelled.
func MeasureReadBandwidth(ctx context.Context, bytes int, threads int) (float64, error) {
	const passes = 5
	if bytes < 1<<20 {
		return 0, fmt.Errorf("bandwidth probe: buffer of %d bytes is too small to measure memory (want ≥ 1 MiB, ideally ≥ 1 GiB)", bytes)
	}
	if threads < 1 {
		return 0, fmt.Errorf("bandwidth probe: %d threads (want ≥ 1)", threads)
	}
	// The buffer gets transparent huge pages as decode's int8 weights do
	// (quant.New): with 4 KiB pages the probe's page walks made it read
	// 5–15% slower or faster depending on what the heap had freed before,
	// and the decode bandwidth ratio compared two page sizes.
	raw := make([]byte, bytes&^3)
	hugepage.Advise(raw)
	buf := unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), len(raw)/4)
	for i := range buf { // fault every page in before timing
		buf[i] = 1
	}
	part := (len(buf)/threads + 7) &^ 7
	sums := make([]float32, threads)
	best := 0.0
	for range passes {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		var wg sync.WaitGroup
		start := time.Now()
		for t := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo, hi := min(t*part, len(buf)), min((t+1)*part, len(buf))
				sums[t] = sumFloats(buf[lo:hi])
			}()
		}
		wg.Wait()
		gbs := float64(4*len(buf)) / time.Since(start).Seconds() / 1e9
		best = max(best, gbs)
	}
	var total float32
	for _, s := range sums {
		total += s
	}
	if total <= 0 { // keeps the reads observable; cannot happen for a buffer of ones
		return 0, fmt.Errorf("bandwidth probe: checksum %v", total)
	}
	return best, nil
}

// sumFloats reads every element of v once (Dot of v with itself loads
// each cache line once; the second operand hits L1).
func sumFloats(v []float32) float32 { return Dot(v, v) }
