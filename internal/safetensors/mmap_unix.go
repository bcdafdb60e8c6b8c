//go:build unix

package safetensors

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

// releasePages drops the resident pages wholly inside part (a sub-slice of
// the mapping) with MADV_DONTNEED; the file stays mapped.
func releasePages(mapping, part []byte) {
	if len(part) == 0 || len(mapping) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	base := uintptr(unsafe.Pointer(&mapping[0]))
	start := uintptr(unsafe.Pointer(&part[0]))
	end := start + uintptr(len(part))
	start = (start + page - 1) &^ (page - 1)
	end &^= page - 1
	if end <= start {
		return
	}
	_ = unix.Madvise(mapping[start-base:end-base], unix.MADV_DONTNEED)
}
