// Package hugepage asks the OS for transparent huge pages on the large
// buffers decode streams once per token (the int8 weights). With 4 KiB
// pages every 4 KiB of the weight stream costs a TLB miss and a page walk
// on top of the DRAM latency; 2 MiB pages remove them. Go's heap no longer
// asks for huge pages itself, and most Linux distributions set THP to
// "madvise", so without the advice the weights get 4 KiB pages.
//
// Measured (BenchmarkHugePages in internal/quant: two 4B decoder layers,
// ~200 MB, both threads, the two layouts alternating in one process) on a
// 2-vCPU Zen 5: huge pages stream the weights 4–5% faster.
package hugepage

import (
	"sync"
	"unsafe"
)

// enabled switches the advice (tests turn it off to compare).
var enabled = true

// SetEnabled turns the advice on or off; for benchmarks that compare the
// two page sizes. Not safe to call while other goroutines allocate.
func SetEnabled(on bool) { enabled = on }

// huge is the transparent huge page size on x86-64 and most arm64 kernels.
const huge = 2 << 20

// slabBytes is the size of the shared slabs Alloc carves small buffers
// from.
const slabBytes = 64 << 20

// arena is the remainder of the last slab, where the next buffers go.
var arena struct {
	sync.Mutex
	free []byte
}

// Alloc returns n zero bytes, 64-byte aligned, in memory advised into
// transparent huge pages from end to end: carved one after another from
// shared 2 MiB-aligned slabs. Advise on a buffer of its own covers only
// its 2 MiB-aligned interior, which left a decoder's small matrices (k and
// v, 2.6 MB each in the 4B) and every block-scale array mostly on 4 KiB
// pages — about a third of the bytes a 4B decode step streams. A buffer
// larger than a slab gets a region of its own (its last huge page's
// remainder serves the next small ones). Buffers under 1 MiB, and every
// buffer when the advice is off (SetEnabled), come from the ordinary heap.
// The memory is freed by the garbage collector once nothing refers to any
// buffer of its slab.
func Alloc(n int) []byte {
	if n <= 0 {
		return nil
	}
	if !enabled || n < huge/2 {
		return make([]byte, n)
	}
	arena.Lock()
	defer arena.Unlock()
	n64 := (n + 63) &^ 63
	if len(arena.free) < n64 {
		size := max(slabBytes, (n64+huge-1)&^(huge-1))
		raw := make([]byte, size+huge)
		p := uintptr(unsafe.Pointer(&raw[0]))
		off := int((p+huge-1)&^(huge-1) - p)
		slab := raw[off : off+size : off+size]
		Advise(slab)
		if rest := slab[n64:]; len(rest) < len(arena.free) {
			// Keep carving the older, larger remainder.
			return slab[:n:n]
		}
		arena.free = slab
	}
	b := arena.free[:n:n]
	arena.free = arena.free[n64:]
	return b
}

// Float32s returns n zero float32s from Alloc: huge pages for long-lived
// float buffers the products stream (the vision tower's weights). Not for
// per-call or per-size scratch: a slab is freed only when nothing in it is
// referenced, so a buffer dropped beside live weights is never returned.
func Float32s(n int) []float32 {
	if n <= 0 {
		return nil
	}
	b := Alloc(4 * n)
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
