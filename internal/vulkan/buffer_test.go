package vulkan

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// bufferModes runs f on a device whose buffers are mapped (when the device
// has unified memory) and on one that goes through the staging buffer.
func bufferModes(t *testing.T, f func(t *testing.T, d *Device)) {
	t.Run("direct", func(t *testing.T) { f(t, openTest(t, Options{})) })
	t.Run("staging", func(t *testing.T) {
		d := openTest(t, Options{forceStaging: true})
		if d.mapped {
			t.Fatal("forceStaging left buffers mapped")
		}
		f(t, d)
	})
}

func TestBufferRoundTrip(t *testing.T) {
	bufferModes(t, func(t *testing.T, d *Device) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, size := range []int64{0, 1, 3, 7, 4096, 100_003, 3<<20 + 5} {
			b := newBuf(t, d, size)
			if b.Size() != size {
				t.Fatalf("Size %d, want %d", b.Size(), size)
			}
			// New buffers are zero.
			got := make([]byte, size)
			for i := range got {
				got[i] = 0xAA
			}
			if err := b.Read(0, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, make([]byte, size)) {
				t.Fatalf("new buffer of %d bytes is not zero", size)
			}
			want := make([]byte, size)
			for i := range want {
				want[i] = byte(rng.Uint32())
			}
			if err := b.Write(0, want); err != nil {
				t.Fatal(err)
			}
			// Unaligned pieces at unaligned offsets.
			for _, sp := range [][2]int64{{1, 2}, {3, 5}, {size / 3, size / 2}, {size - 1, size}, {size, size}} {
				lo, hi := sp[0], sp[1]
				if lo < 0 || hi > size || lo > hi {
					continue
				}
				piece := make([]byte, hi-lo)
				for i := range piece {
					piece[i] = byte(rng.Uint32())
				}
				if err := b.Write(lo, piece); err != nil {
					t.Fatalf("Write at %d: %v", lo, err)
				}
				copy(want[lo:], piece)
				back := make([]byte, hi-lo)
				if err := b.Read(lo, back); err != nil {
					t.Fatalf("Read at %d: %v", lo, err)
				}
				if !bytes.Equal(back, piece) {
					t.Fatalf("size %d: read back [%d:%d] differs", size, lo, hi)
				}
			}
			if err := b.Read(0, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d: whole read differs", size)
			}
		}
	})
}

func TestBufferLargeStaged(t *testing.T) {
	// Larger than the staging buffer: the copy goes in pieces.
	defer func(n int) { stagingMax = n }(stagingMax)
	stagingMax = 64 << 10
	d := openTest(t, Options{forceStaging: true})
	size := int64(2*stagingMax + stagingMax/2 + 3)
	b := newBuf(t, d, size)
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(i * 7)
	}
	if err := b.Write(0, want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, size)
	if err := b.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("large staged round trip differs")
	}
}

func TestBufferErrors(t *testing.T) {
	d := openTest(t, Options{})
	if _, err := d.NewBuffer(-1); err == nil {
		t.Error("NewBuffer(-1) succeeded")
	}
	if _, err := d.NewBuffer(d.Info().MaxBufferBytes + 1); err == nil {
		t.Error("NewBuffer above MaxBufferBytes succeeded")
	}
	b := newBuf(t, d, 10)
	for _, c := range []struct {
		off int64
		n   int
	}{{-1, 1}, {0, 11}, {10, 1}, {11, 0}, {9, 2}} {
		if err := b.Write(c.off, make([]byte, c.n)); err == nil {
			t.Errorf("Write(%d, %d bytes) succeeded", c.off, c.n)
		}
		if err := b.Read(c.off, make([]byte, c.n)); err == nil {
			t.Errorf("Read(%d, %d bytes) succeeded", c.off, c.n)
		}
	}
	b.Release()
	b.Release()
	if err := b.Write(0, []byte{1}); !errors.Is(err, errReleased) {
		t.Errorf("Write after Release: %v", err)
	}
	if err := b.Read(0, []byte{1}); !errors.Is(err, errReleased) {
		t.Errorf("Read after Release: %v", err)
	}
}
