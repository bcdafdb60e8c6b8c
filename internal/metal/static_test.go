package metal

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vlmrt/vlmrt/mrope"
)

func TestPadInt32Layout(t *testing.T) {
	for _, v := range []int32{0, 1, 182, 0x01020304, -1, mrope.TextOnlyShiftStart} {
		b := PadInt32(v)
		if len(b) != StaticScalarBytes || StaticScalarBytes != 64 {
			t.Fatalf("%d bytes, want 64", len(b))
		}
		if got := int32(binary.LittleEndian.Uint32(b)); got != v {
			t.Errorf("first four bytes hold %d, want %d", got, v)
		}
		if !bytes.Equal(b[4:], make([]byte, 60)) {
			t.Errorf("padding of %d is not zero: %v", v, b[4:])
		}
	}
	if got := PadInt32(0x01020304)[:4]; !bytes.Equal(got, []byte{4, 3, 2, 1}) {
		t.Errorf("0x01020304 laid out as %v, want little-endian [4 3 2 1]", got)
	}
}

func TestRopeShiftStatic(t *testing.T) {
	// An image whose first pad is at sequence index 15: 196 slots on a
	// 14×14 grid, so text from 211 on is shifted back by 182.
	start, amount := mrope.RopeShift(15, 196, 14, 14)
	s, a, err := RopeShiftStatic(start, amount)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(s); got != 211 {
		t.Errorf("rope_shift_start %d, want 211", got)
	}
	if got := binary.LittleEndian.Uint32(a); got != 182 {
		t.Errorf("rope_shift_amount %d, want 182", got)
	}
	if len(s) != 64 || len(a) != 64 {
		t.Errorf("buffers of %d and %d bytes, want 64", len(s), len(a))
	}
	s, a, err = RopeShiftStatic(mrope.TextOnlyShiftStart, 0)
	if err != nil || binary.LittleEndian.Uint32(s) != 1<<30 || !bytes.Equal(a, make([]byte, 64)) {
		t.Errorf("text-only shift: %v, %v, %v", s[:4], a[:4], err)
	}
	for _, bad := range [][2]int32{{-1, 0}, {10, -1}, {5, 6}} {
		if _, _, err := RopeShiftStatic(bad[0], bad[1]); err == nil {
			t.Errorf("RopeShiftStatic(%d, %d) accepted", bad[0], bad[1])
		}
	}
}
