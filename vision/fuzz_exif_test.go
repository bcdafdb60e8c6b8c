package vision

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOrientation feeds arbitrary bytes as each container to the EXIF
// reader: it returns an orientation 1..8, never panics.
func FuzzOrientation(f *testing.F) {
	for _, p := range []string{"d12_exif6_640x480.jpg", "d02_gradient_640x480.png"} {
		if b, err := os.ReadFile(filepath.Join(refDir, p)); err == nil {
			f.Add(b[:min(len(b), 1<<14)])
		}
	}
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []string{"jpeg", "png", "webp", "tiff"} {
			if o := fileOrientation(data, format); o < 1 || o > 8 {
				t.Fatalf("%s: orientation %d", format, o)
			}
		}
	})
}

// FuzzPreprocessNative runs arbitrary small images of any shape through
// native-resolution preprocessing with arbitrary budgets: an error or
// patches matching the grid, never a panic.
func FuzzPreprocessNative(f *testing.F) {
	f.Add(uint16(1), uint16(1), int64(0), int64(0))
	f.Add(uint16(2000), uint16(10), int64(1024), int64(4096))
	f.Add(uint16(33), uint16(47), int64(-1), int64(1<<40))
	f.Fuzz(func(t *testing.T, w, h uint16, minPx, maxPx int64) {
		w, h = w%600+1, h%600+1
		maxPx %= 1 << 20 // keep each case small
		img := newRGBImage(int(w), int(h))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 31)
		}
		p, err := PreprocessImage(t.Context(), img, PreprocessOptions{Resize: ResizeNative, Budget: Budget{MinPixels: minPx, MaxPixels: maxPx}})
		if err != nil {
			return
		}
		if p.Patch.Rows%2 != 0 || p.Patch.Cols%2 != 0 || len(p.Patches) != p.Patch.NumPatches()*1536 {
			t.Fatalf("%dx%d budget %d..%d: grid %+v with %d values", w, h, minPx, maxPx, p.Patch, len(p.Patches))
		}
	})
}
