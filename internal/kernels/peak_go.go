//go:build noasm || !arm64

package kernels

import (
	"math"
	"sync/atomic"
)

// The pure-Go FMA probe: amd64 CPUs without AVX2 and builds without
// assembly measure their peak with it (arm64 always has NEON's).

// goFMAPeak is the scalar probe: 8 independent multiply-add chains whose
// values stay finite and normal. peakSink keeps the result observable.
func goFMAPeak(iters int) {
	a := [8]float32{1, 2, 3, 4, 5, 6, 7, 8}
	const m, c = 0.5, 1
	for range iters {
		a[0] = a[0]*m + c
		a[1] = a[1]*m + c
		a[2] = a[2]*m + c
		a[3] = a[3]*m + c
		a[4] = a[4]*m + c
		a[5] = a[5]*m + c
		a[6] = a[6]*m + c
		a[7] = a[7]*m + c
	}
	peakSink.Store(math.Float32bits(a[0] + a[7]))
}

// goFMAPeakFLOPs is goFMAPeak's FLOPs per iteration.
const goFMAPeakFLOPs = 16

var peakSink atomic.Uint32
