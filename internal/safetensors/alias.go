package safetensors

import "unsafe"

// bytesAsInt8 reinterprets b without copying.
func bytesAsInt8(b []byte) []int8 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

// bytesAsUint16 reinterprets b (little-endian) without copying. The data
// section of a safetensors file is 8-byte aligned and every tensor offset a
// multiple of its element size in files we and Hugging Face write; an odd
// start is copied instead so the result is always aligned.
func bytesAsUint16(b []byte) []uint16 {
	if len(b) < 2 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%2 != 0 {
		out := make([]uint16, len(b)/2)
		for i := range out {
			out[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		return out
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}
