package quant

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back the 2 MiB-aligned interior of a fresh
// allocation with transparent huge pages (madvise MADV_HUGEPAGE). Decode
// streams every weight once per token; with 4 KiB pages that is a TLB miss
// and a page walk every 4 KiB, which the weight stream pays on top of the
// DRAM latency (measured: BenchmarkHugePages). Go's heap no longer asks
// for huge pages itself, and most distributions set THP to "madvise".
// The memory is fresh from the OS and untouched (Go does not zero it), so
// the first writes fault in huge pages. Failure is harmless: it is advice.
func adviseHuge(p unsafe.Pointer, n int) {
	const huge = 2 << 20
	if !hugePages || n < 2*huge {
		return
	}
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + uintptr(n)) &^ (huge - 1)
	if end <= start {
		return
	}
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start), madvHugepage)
}

const madvHugepage = 14 // MADV_HUGEPAGE
