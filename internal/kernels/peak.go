package kernels

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// MeasurePeakGFLOPs estimates the machine's float32 fused multiply-add
// peak in GFLOP/s (10⁹ FLOPs per second, a multiply-add counting 2):
// threads goroutines each run a loop of independent FMAs on registers with
// the widest vectors the CPU has (PeakPath: 512-bit on AVX-512, 256-bit on
// AVX2, 128-bit NEON on arm64, scalar Go otherwise), whatever path the
// kernels were forced to. It is the ceiling prefill and vision are
// measured against, as MeasureReadBandwidth is decode's; the best of
// several passes is reported, since shared hosts only ever make a pass
// slower. It stops early, with ctx's error, when ctx is cancelled.
func MeasurePeakGFLOPs(ctx context.Context, threads int) (float64, error) {
	const (
		passes = 5
		target = 50 * time.Millisecond // per pass: long enough to time, short enough for the bench
	)
	if threads < 1 {
		return 0, fmt.Errorf("peak FLOPs probe: %d threads (want ≥ 1)", threads)
	}
	// Calibrate the iteration count on one thread so a pass takes ~target.
	iters := 1 << 12
	for {
		start := time.Now()
		fmaPeak(iters)
		if d := time.Since(start); d >= target/8 || iters >= math.MaxInt/8 {
			iters = int(float64(iters) * float64(target) / float64(max(d, time.Microsecond)))
			break
		}
		iters *= 4
	}
	iters = max(iters, 1)
	best := 0.0
	for range passes {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		var wg sync.WaitGroup
		start := time.Now()
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fmaPeak(iters)
			}()
		}
		wg.Wait()
		flops := float64(threads) * float64(iters) * float64(fmaPeakFLOPs())
		best = max(best, flops/time.Since(start).Seconds()/1e9)
	}
	return best, nil
}

// PeakPath names the vectors MeasurePeakGFLOPs uses ("avx512", "avx2",
// "neon", "generic"): the CPU's widest.
func PeakPath() string { return peakPath() }
