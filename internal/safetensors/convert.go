package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/vlmrt/vlmrt/internal/f16"
)

// IsFloat reports whether the dtype is one Float32s can widen.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 }

// Float32s returns the tensor's values widened to float32 (a new slice).
// It accepts F32, F16 and BF16; any other dtype is an error naming the tensor.
func (t Tensor) Float32s() ([]float32, error) {
	out := make([]float32, t.NumElements())
	if err := t.Float32sInto(out, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// Float32sInto widens len(dst) elements starting at element index first.
// Loaders use it to convert one row at a time without a whole-tensor copy.
func (t Tensor) Float32sInto(dst []float32, first int) error {
	size := t.DType.Size()
	if !t.DType.IsFloat() {
		return fmt.Errorf("tensor %q: dtype %s is not a float type", t.Name, t.DType)
	}
	if first < 0 || (first+len(dst))*size > len(t.Data) {
		return fmt.Errorf("tensor %q: elements [%d, %d) out of range", t.Name, first, first+len(dst))
	}
	b := t.Data[first*size:]
	switch t.DType {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = f16.ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = f16.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return nil
}

// Int8s returns an I8 tensor's data as []int8 aliasing the same memory.
func (t Tensor) Int8s() ([]int8, error) {
	if t.DType != I8 {
		return nil, fmt.Errorf("tensor %q: dtype %s, want I8", t.Name, t.DType)
	}
	return bytesAsInt8(t.Data), nil
}

// Uint16s returns an F16/BF16 tensor's raw bit patterns aliasing the same
// memory (little-endian hosts only, which is every platform vlmrt targets).
func (t Tensor) Uint16s() ([]uint16, error) {
	if t.DType.Size() != 2 {
		return nil, fmt.Errorf("tensor %q: dtype %s is not 16-bit", t.Name, t.DType)
	}
	return bytesAsUint16(t.Data), nil
}

// Int32s returns an I32 tensor's values (a new slice).
func (t Tensor) Int32s() ([]int32, error) {
	if t.DType != I32 {
		return nil, fmt.Errorf("tensor %q: dtype %s, want I32", t.Name, t.DType)
	}
	out := make([]int32, t.NumElements())
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}
