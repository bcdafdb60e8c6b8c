package metal

import (
	"fmt"
	"unsafe"
)

// Scalar is an element type kernels read from or write to buffers.
type Scalar interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// AsBytes views s's memory as bytes without copying (for NewBufferFrom,
// which copies it). The host byte order is the GPU's: every Apple GPU and
// every Mac CPU is little-endian.
func AsBytes[T Scalar](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// View returns a buffer's Contents as []T without copying, valid as long
// as the Contents are. The length must be a multiple of T's size and the
// memory aligned for T (Metal's allocations are page-aligned).
func View[T Scalar](b *Buffer) ([]T, error) { return viewBytes[T](b.Contents()) }

func viewBytes[T Scalar](c []byte) ([]T, error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(c) == 0 {
		return nil, fmt.Errorf("metal: view of an empty or released buffer")
	}
	if len(c)%size != 0 {
		return nil, fmt.Errorf("metal: %d-byte buffer is not a whole number of %T (%d bytes each)", len(c), zero, size)
	}
	p := unsafe.Pointer(&c[0])
	if uintptr(p)%uintptr(unsafe.Alignof(zero)) != 0 {
		return nil, fmt.Errorf("metal: buffer memory is not aligned for %T", zero)
	}
	return unsafe.Slice((*T)(p), len(c)/size), nil
}
