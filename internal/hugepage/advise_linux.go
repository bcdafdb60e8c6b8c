package hugepage

import (
	"syscall"
	"unsafe"
)

// Advise asks the kernel to back the 2 MiB-aligned interior of b with
// transparent huge pages (madvise MADV_HUGEPAGE). Call it on a fresh large
// allocation before writing it: Go takes large objects straight from the
// OS untouched, so the first writes fault in huge pages. Failure is
// harmless (it is advice), so nothing is returned.
func Advise(b []byte) {
	if !enabled || len(b) < 2*huge {
		return
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	start := (p + huge - 1) &^ (huge - 1)
	end := (p + uintptr(len(b))) &^ (huge - 1)
	if end <= start {
		return
	}
	_ = syscall.Madvise(b[start-p:end-p], madvHugepage)
}

const madvHugepage = 14 // MADV_HUGEPAGE
