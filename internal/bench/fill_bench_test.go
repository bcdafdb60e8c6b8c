package bench

import "testing"

func BenchmarkFillQ8(b *testing.B) {
	buf := make([]byte, fillChunk)
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		fillBytes(buf, fillQ8, uint64(i))
	}
}

func BenchmarkFillHalf(b *testing.B) {
	buf := make([]byte, fillChunk)
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		fillBytes(buf, fillHalf, uint64(i))
	}
}
