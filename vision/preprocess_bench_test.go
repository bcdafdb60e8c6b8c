package vision

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

const largeJPEG = "d07_large_4032x3024.jpg"

func readLarge(b *testing.B) []byte {
	data, err := os.ReadFile(filepath.Join(refDir, largeJPEG))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodeLargeJPEG is Go's image/jpeg alone on the 4032x3024
// reference photo: the floor for BenchmarkPreprocessLargeJPEG.
func BenchmarkDecodeLargeJPEG(b *testing.B) {
	data := readLarge(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocessLargeJPEG is the whole pipeline: decode, libjpeg-style
// colour conversion, EXIF, Pillow bicubic to 448x448, patchify.
func BenchmarkPreprocessLargeJPEG(b *testing.B) {
	data := readLarge(b)
	b.SetBytes(int64(len(data)))
	ctx := context.Background()
	for b.Loop() {
		if _, err := PreprocessReader(ctx, bytes.NewReader(data), PreprocessOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResizeLarge isolates the bicubic resize 4032x3024 → 448x448.
func BenchmarkResizeLarge(b *testing.B) {
	img, err := DecodeImage(bytes.NewReader(readLarge(b)), 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := resizeBicubic(ctx, img, 448, 448); err != nil {
			b.Fatal(err)
		}
	}
}
