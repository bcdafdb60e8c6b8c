package kernels

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/hugepage"
)

// MeasureReadBandwidth estimates the machine's sustained memory read
// bandwidth in GB/s (10⁹ bytes per second): threads goroutines read
// disjoint parts of a fresh bytes-long buffer (it should be far larger
// than the last-level cache, e.g. 1 GiB), and the best of several passes
// is reported, since shared hosts only ever make a pass slower. It stops
// early, with ctx's error, when ctx is cancelled.
func MeasureReadBandwidth(ctx context.Context, bytes int, threads int) (float64, error) {
	if bytes < 1<<20 {
		return 0, fmt.Errorf("bandwidth probe: buffer of %d bytes is too small to measure memory (want ≥ 1 MiB, ideally ≥ 1 GiB)", bytes)
	}
	if threads < 1 { // before allocating the buffer
		return 0, fmt.Errorf("bandwidth probe: %d threads (want ≥ 1)", threads)
	}
	// The buffer gets transparent huge pages as decode's int8 weights do
	// (quant.New): with 4 KiB pages the probe's page walks made it read
	// 5–15% slower or faster depending on what the heap had freed before,
	// and the decode bandwidth ratio compared two page sizes.
	raw := make([]byte, bytes)
	hugepage.Advise(raw)
	// Fault every page in before timing: a byte, then ever longer copies.
	raw[0] = 1
	for n := 1; n < len(raw); n *= 2 {
		copy(raw[n:], raw[:n])
	}
	return MeasureRegionsReadBandwidth(ctx, [][]byte{raw}, threads)
}

// MeasureRegionsReadBandwidth is MeasureReadBandwidth over memory that
// already exists — a model's weights — instead of a fresh buffer: each
// pass reads every byte of regions once, in order, the threads taking
// consecutive equal shares, and the best of several passes is reported.
// On a virtual machine the same process's memory does not all read
// equally fast (see the README's "What one run measures" and
// docs/performance-history.md, "Eighth session"), so a decode is compared
// with a plain read of its own weight pages as well as with a fresh buffer.
func MeasureRegionsReadBandwidth(ctx context.Context, regions [][]byte, threads int) (float64, error) {
	passes, err := ReadPasses(ctx, regions, threads, 5)
	if err != nil {
		return 0, err
	}
	return slices.Max(passes), nil
}

// ReadPasses reads every byte of regions n times, as
// MeasureRegionsReadBandwidth does, and returns each pass's rate in GB/s:
// a decode is timed token by token against it (one pass over its weights
// per token), alternating, so that both see the same state of a drifting
// host.
func ReadPasses(ctx context.Context, regions [][]byte, threads, n int) ([]float64, error) {
	total := 0
	for _, r := range regions {
		total += len(r)
	}
	if total < 1<<20 {
		return nil, fmt.Errorf("bandwidth probe: %d bytes is too little to measure memory (want ≥ 1 MiB, ideally ≥ 1 GiB)", total)
	}
	if threads < 1 {
		return nil, fmt.Errorf("bandwidth probe: %d threads (want ≥ 1)", threads)
	}
	if n < 1 {
		return nil, fmt.Errorf("bandwidth probe: %d passes (want ≥ 1)", n)
	}
	part := (total/threads + 127) &^ 127
	sums := make([]uint64, threads)
	rates := make([]float64, 0, n)
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var wg sync.WaitGroup
		start := time.Now()
		for t := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sums[t] ^= readRange(regions, t*part, min((t+1)*part, total))
			}()
		}
		wg.Wait()
		rates = append(rates, float64(total)/time.Since(start).Seconds()/1e9)
	}
	var x uint64
	for _, v := range sums {
		x ^= v
	}
	sink.Store(x) // keeps every thread's reads observable
	return rates, nil
}

// sink receives the probes' checksums so the reads cannot be optimized
// away.
var sink atomic.Uint64

// readRange reads bytes [lo, hi) of the concatenation of regions.
func readRange(regions [][]byte, lo, hi int) uint64 {
	var x uint64
	off := 0
	for _, r := range regions {
		a, b := max(lo-off, 0), min(hi-off, len(r))
		if a < b {
			x ^= readXor(r[a:b])
		}
		off += len(r)
		if off >= hi {
			break
		}
	}
	return x
}

// readXor XORs b's bytes into one word: a plain read of every byte once.
// It is integer, so its time cannot depend on the values (a float sum of
// arbitrary weight bytes meets denormals, which some CPUs slow down on).
func readXor(b []byte) uint64 {
	n := len(b) &^ 127
	var x uint64
	if n > 0 && haveAsm {
		x = readXorAsm(&b[0], n)
		b = b[n:]
	}
	return x ^ goReadXor(b)
}

// goReadXor is readXor in Go: 64 bytes an iteration into 8 words, the
// last len(b)%64 bytes one at a time.
func goReadXor(b []byte) uint64 {
	var a [8]uint64
	n := len(b) &^ 63
	p := unsafe.Pointer(unsafe.SliceData(b))
	for i := 0; i < n; i += 64 {
		w := (*[8]uint64)(unsafe.Add(p, i))
		a[0] ^= w[0]
		a[1] ^= w[1]
		a[2] ^= w[2]
		a[3] ^= w[3]
		a[4] ^= w[4]
		a[5] ^= w[5]
		a[6] ^= w[6]
		a[7] ^= w[7]
	}
	x := a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7]
	for i, v := range b[n:] {
		x ^= uint64(v) << (8 * ((n + i) % 8))
	}
	return x
}
