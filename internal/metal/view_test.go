package metal

import (
	"testing"
	"unsafe"
)

func TestAsBytesAndView(t *testing.T) {
	f := []float32{1, -2.5, 3e-8}
	b := AsBytes(f)
	if len(b) != 12 || unsafe.Pointer(&b[0]) != unsafe.Pointer(&f[0]) {
		t.Fatalf("AsBytes gave %d bytes, not a view of the slice", len(b))
	}
	// A buffer-like copy, as NewBufferFrom would make, read back typed.
	back, err := View[float32](&Buffer{id: 1, contents: append([]byte(nil), b...)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range f {
		if back[i] != f[i] {
			t.Errorf("element %d: %v, want %v", i, back[i], f[i])
		}
	}
	q := []int8{-127, 0, 127}
	if got := AsBytes(q); len(got) != 3 || got[0] != 0x81 || got[2] != 0x7f {
		t.Errorf("int8 bytes %v", got)
	}
	if AsBytes([]uint16(nil)) != nil {
		t.Error("AsBytes of nil is not nil")
	}
}

func TestViewRefusesRaggedAndMisaligned(t *testing.T) {
	backing := make([]uint64, 4) // 8-byte aligned
	raw := AsBytes(backing)
	if _, err := viewBytes[float32](raw[:10]); err == nil {
		t.Error("a 10-byte view as float32 succeeded")
	}
	if _, err := viewBytes[uint32](raw[1:9]); err == nil {
		t.Error("a misaligned view as uint32 succeeded")
	}
	if _, err := viewBytes[int8](raw[1:4]); err != nil {
		t.Errorf("int8 needs no alignment: %v", err)
	}
	if _, err := viewBytes[uint16](nil); err == nil {
		t.Error("a view of nothing succeeded")
	}
}
