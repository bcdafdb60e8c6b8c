package kernels

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// refReadXor is readXor's definition: the XOR of b's little-endian 64-bit
// words, the last one zero-padded.
func refReadXor(b []byte) uint64 {
	var x uint64
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		copy(w[:], b[i:])
		x ^= binary.LittleEndian.Uint64(w[:])
	}
	return x
}

// readXor reads every byte once on every path: lengths around the
// assembly's 128-byte step and the Go loop's 64, and odd start addresses.
func TestReadXor(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 4096+7)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	eachPath(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 7, 8, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 4096} {
			for _, off := range []int{0, 1, 3, 7} {
				b := buf[off : off+n]
				if got, want := readXor(b), refReadXor(b); got != want {
					t.Fatalf("len %d at offset %d: %#x, want %#x", n, off, got, want)
				}
			}
		}
		// One byte changed anywhere changes the result.
		b := buf[:1000]
		want := readXor(b)
		for _, i := range []int{0, 127, 128, 511, 999} {
			b[i] ^= 0x40
			if readXor(b) == want {
				t.Fatalf("byte %d not read", i)
			}
			b[i] ^= 0x40
		}
	})
}

// readRange splits the concatenated regions among threads with every byte
// read exactly once (a byte read twice cancels out of the XOR, one skipped
// is missing): regions of multiples of 8 bytes keep every piece
// word-aligned in the concatenation, so the parts' XOR is the whole's.
func TestReadRangeCoversEveryByteOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var regions [][]byte
	var all []byte
	for _, n := range []int{8, 1024, 136, 4096, 8, 2048 + 64} {
		r := make([]byte, n)
		for i := range r {
			r[i] = byte(rng.Uint32()) | 1
		}
		regions = append(regions, r)
		all = append(all, r...)
	}
	want := refReadXor(all)
	for threads := 1; threads <= 5; threads++ {
		part := (len(all)/threads + 127) &^ 127
		var x uint64
		for th := range threads {
			x ^= readRange(regions, th*part, min((th+1)*part, len(all)))
		}
		if x != want {
			t.Fatalf("%d threads: %#x, want %#x", threads, x, want)
		}
	}
}

func TestMeasureRegionsReadBandwidth(t *testing.T) {
	ctx := context.Background()
	regions := [][]byte{make([]byte, 3<<20+5), make([]byte, 1<<20+3), make([]byte, 17)}
	for _, threads := range []int{1, 2, 3} {
		g, err := MeasureRegionsReadBandwidth(ctx, regions, threads)
		if err != nil || !(g > 0) {
			t.Fatalf("%d threads: %v GB/s, %v", threads, g, err)
		}
	}
	if _, err := MeasureRegionsReadBandwidth(ctx, regions, 0); err == nil {
		t.Fatal("0 threads accepted")
	}
	if _, err := MeasureRegionsReadBandwidth(ctx, [][]byte{make([]byte, 1000)}, 1); err == nil {
		t.Fatal("1000 bytes accepted")
	}
	if _, err := MeasureRegionsReadBandwidth(ctx, nil, 1); err == nil {
		t.Fatal("no regions accepted")
	}
	if _, err := MeasureReadBandwidth(ctx, 1000, 1); err == nil {
		t.Fatal("a 1000-byte probe buffer accepted")
	}
	if _, err := MeasureReadBandwidth(ctx, 1<<20, 0); err == nil {
		t.Fatal("a probe on 0 threads accepted")
	}
	if g, err := MeasureReadBandwidth(ctx, 3<<20+5, 2); err != nil || !(g > 0) {
		t.Fatalf("a 3 MiB probe: %v GB/s, %v", g, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := MeasureRegionsReadBandwidth(cancelled, regions, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
