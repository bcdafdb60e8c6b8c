package decoder

import (
	"testing"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/weights"
)

// WeightRegions are WeightBytes bytes of the weights themselves, in decode
// order: the first is layer 0's q weights, the last the head's scales
// (int8) or weights (float32).
func TestWeightRegions(t *testing.T) {
	for _, p := range []weights.Precision{weights.Int8, weights.F32} {
		m := tinyA(t, p)
		rs := m.WeightRegions()
		var n int64
		for _, r := range rs {
			n += int64(len(r))
		}
		if n != m.WeightBytes() {
			t.Fatalf("%v: regions hold %d bytes, WeightBytes %d", p, n, m.WeightBytes())
		}
		first, last := unsafe.Pointer(&rs[0][0]), unsafe.Pointer(&rs[len(rs)-1][0])
		q, h := m.layers[0].q, m.head
		wantFirst, wantLast := unsafe.Pointer(unsafe.SliceData(q.F32)), unsafe.Pointer(unsafe.SliceData(h.F32))
		if q.Q8 != nil {
			wantFirst, wantLast = unsafe.Pointer(&q.Q8.Q[0]), unsafe.Pointer(&h.Q8.Scales[0])
		}
		if first != wantFirst || last != wantLast {
			t.Fatalf("%v: regions are not the weights in place (first %p want %p, last %p want %p)", p, first, wantFirst, last, wantLast)
		}
	}
}
