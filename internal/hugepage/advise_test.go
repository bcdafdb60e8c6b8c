package hugepage

import (
	"os"
	"strings"
	"testing"
	"unsafe"
)

// Advise takes any slice: empty, small, unaligned, huge.
func TestAdviseAnySlice(t *testing.T) {
	Advise(nil)
	Advise(make([]byte, 1))
	big := make([]byte, 9<<20+123)
	Advise(big[7:])
	Advise(big)
	for i := range big {
		big[i] = byte(i)
	}
	if big[len(big)-1] != byte(len(big)-1) {
		t.Fatal("advised memory does not hold what was written")
	}
	// Whether the kernel granted huge pages depends on its THP setting and
	// free memory, so it is reported, not asserted.
	mode, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	rollup, _ := os.ReadFile("/proc/self/smaps_rollup")
	for _, l := range strings.Split(string(rollup), "\n") {
		if strings.HasPrefix(l, "AnonHugePages") {
			t.Logf("THP %s; %s", strings.TrimSpace(string(mode)), l)
		}
	}
}

// Alloc hands out zeroed, 64-byte aligned, non-overlapping buffers of the
// asked length and capacity; from 1 MiB up they lie inside 2 MiB-aligned
// slabs (so the whole buffer can sit in huge pages), small ones come from
// the heap, and a buffer larger than a slab gets a region of its own.
func TestAlloc(t *testing.T) {
	if Alloc(0) != nil {
		t.Fatal("Alloc(0) is not nil")
	}
	sizes := []int{100, 1 << 20, 3<<20 + 7, 5 << 20, slabBytes + 123, 2 << 20, 64}
	var bufs [][]byte
	for _, n := range sizes {
		b := Alloc(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("Alloc(%d): len %d cap %d", n, len(b), cap(b))
		}
		if p := uintptr(unsafe.Pointer(&b[0])); n >= huge/2 && p%64 != 0 {
			t.Fatalf("Alloc(%d) at %#x, not 64-byte aligned", n, p)
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("Alloc(%d)[%d] = %d, not zero", n, i, v)
			}
		}
		for i := range b {
			b[i] = byte(len(bufs) + 1)
		}
		bufs = append(bufs, b)
	}
	for i, b := range bufs { // no buffer overwrote another
		for j, v := range b {
			if v != byte(i+1) {
				t.Fatalf("buffer %d (%d bytes) byte %d = %d, want %d", i, len(b), j, v, i+1)
			}
		}
	}
	SetEnabled(false)
	defer SetEnabled(true)
	if b := Alloc(5 << 20); len(b) != 5<<20 {
		t.Fatalf("Alloc with the advice off: %d bytes", len(b))
	}
}
