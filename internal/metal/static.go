package metal

import (
	"encoding/binary"
	"fmt"
)

// StaticScalarBytes is the size of a [1] int32 static input's buffer: the
// seed engine pads rope_shift_start and rope_shift_amount (docs/design.md §2.3)
// to 64 bytes, one cache line, so each is its own allocation-aligned
// buffer and kernels may read it with any vector width.
const StaticScalarBytes = 64

// PadInt32 lays out one [1] int32 static input: v little-endian in the
// first 4 bytes, the rest zero.
func PadInt32(v int32) []byte {
	b := make([]byte, StaticScalarBytes)
	binary.LittleEndian.PutUint32(b, uint32(v))
	return b
}

// RopeShiftStatic lays out the rope_shift_start and rope_shift_amount
// static inputs (mrope.RopeShift for an image, mrope.TextOnlyShiftStart and
// 0 for text only). Both are non-negative: text at a position ≥ start is
// rotated as if amount positions earlier.
func RopeShiftStatic(start, amount int32) (startBytes, amountBytes []byte, err error) {
	if start < 0 || amount < 0 {
		return nil, nil, fmt.Errorf("metal: rope shift start %d and amount %d must be non-negative", start, amount)
	}
	if amount > start {
		return nil, nil, fmt.Errorf("metal: rope shift amount %d exceeds its start %d: text positions would go negative", amount, start)
	}
	return PadInt32(start), PadInt32(amount), nil
}

// NewRopeShiftBuffers makes the two static input buffers the decoder reads
// on every step, owned by the caller (Release both).
func (d *Device) NewRopeShiftBuffers(start, amount int32) (startBuf, amountBuf *Buffer, err error) {
	if err := d.ready(); err != nil {
		return nil, nil, err
	}
	s, a, err := RopeShiftStatic(start, amount)
	if err != nil {
		return nil, nil, err
	}
	if startBuf, err = d.NewBufferFrom(s); err != nil {
		return nil, nil, err
	}
	if amountBuf, err = d.NewBufferFrom(a); err != nil {
		startBuf.Release()
		return nil, nil, err
	}
	return startBuf, amountBuf, nil
}
