package vision

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// TestSmartResize checks the size rule against values computed by Hugging
// Face's smart_resize itself (the Python function from transformers'
// image_processing_qwen2_vl.py run with factor 32; each line's comment shows
// the arithmetic). Python's round() rounds halves to even, which the
// 2000×50 and 80×48 cases pin down.
func TestSmartResize(t *testing.T) {
	const ckptMax = 16_777_216 // Qwen3-VL's size.longest_edge
	for _, c := range []struct {
		h, w         int
		min, max     int64
		wantH, wantW int
	}{
		// 4032×3024 photo, default budget: round → 3008×4032 > 200704;
		// beta = sqrt(12192768/200704) = 7.794; floor(3024/7.794/32) = 12, floor(4032/7.794/32) = 16
		{3024, 4032, 0, 0, 384, 512},
		// the same photo under the checkpoint's ceiling: round(94.5) = 94 (even) → 3008, round(126) → 4032
		{3024, 4032, 0, ckptMax, 3008, 4032},
		{480, 640, 0, ckptMax, 480, 640}, // already multiples of 32: kept (the oracle's native case)
		{480, 640, 0, 0, 384, 512},       // beta = 1.2372: 12·32, 16·32
		{1000, 1000, 0, 0, 448, 448},     // beta = 1000/448: the fixed grid's size
		// 1×1: round(1/32) = 0 → 0 < 65536; beta = 256 → ceil(256/32)·32 = 256
		{1, 1, 0, 0, 256, 256},
		// 160×120: 128×160 = 20480 < 65536; beta = 1.848 → ceil(6.93)·32 = 224, ceil(9.24)·32 = 320
		{120, 160, 0, 0, 224, 320},
		// 2000×50: round(1.5625) = 2 → 64; round(62.5) = 62 (half to even) → 1984
		{50, 2000, 0, 0, 64, 1984},
		// 80×48, min 1024: round(1.5) = 2 and round(2.5) = 2 (both to even) → 64×64
		{48, 80, 1024, ckptMax, 64, 64},
		// 3200×16, min 1024: round(0.5) = 0 → 0 < 1024; beta = 0.1414 → ceil(0.07)·32 = 32, ceil(14.1)·32 = 480
		{16, 3200, 1024, ckptMax, 32, 480},
		// 2000×10 (ratio exactly 200: accepted): round → 0×2016 < 65536; beta = 1.81 → 32×3648
		{10, 2000, 0, 0, 32, 3648},
		// a ceiling of 48 tokens (49,152 pixels) and no floor: beta = 2.5 → 192×256
		{480, 640, 0, 49_152, 192, 256},
	} {
		h, w, err := SmartResize(c.h, c.w, 32, Budget{MinPixels: c.min, MaxPixels: c.max})
		if err != nil || h != c.wantH || w != c.wantW {
			t.Errorf("SmartResize(%d, %d, budget %d..%d) = %d×%d, %v; want %d×%d", c.h, c.w, c.min, c.max, h, w, err, c.wantH, c.wantW)
		}
	}
	// Beyond 200:1 the processor refuses; so do we, by name.
	if _, _, err := SmartResize(10, 2001, 32, Budget{}); !errors.Is(err, ErrAspectRatio) {
		t.Errorf("2001×10: %v, want ErrAspectRatio", err)
	}
	for _, b := range []Budget{{MinPixels: -1}, {MaxPixels: -5}, {MinPixels: 300_000, MaxPixels: 200_000}} {
		if _, _, err := SmartResize(100, 100, 32, b); err == nil {
			t.Errorf("budget %+v accepted", b)
		}
	}
}

// TestNativeMatchesFixedReference: the 1000×1000 checkerboard through the
// native path with the default budget lands on 448×448 (see above), where
// Hugging Face's processor gives exactly the fixed-grid references: the
// resized pixels and float32 patches must equal them bit for bit (sha256).
func TestNativeMatchesFixedReference(t *testing.T) {
	for _, ref := range loadManifest(t) {
		if ref.File != "d03_checker1px_1000.png" {
			continue
		}
		p, err := PreprocessFile(t.Context(), filepath.Join(refDir, ref.File), PreprocessOptions{Resize: ResizeNative})
		if err != nil {
			t.Fatal(err)
		}
		if p.Patch != (PatchGrid{Rows: 28, Cols: 28, Merge: 2}) || p.Patch.Tokens() != 196 {
			t.Fatalf("grid %+v", p.Patch)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(p.Resized.Pix)); got != ref.RGB448Sha {
			t.Errorf("resized pixels sha256 %s, reference %s", got, ref.RGB448Sha)
		}
		if got := patchesSha(p.Patches); got != ref.PatchesF32Sha {
			t.Errorf("patches sha256 %s, reference %s", got, ref.PatchesF32Sha)
		}
		return
	}
	t.Fatal("d03_checker1px_1000.png is not in the manifest")
}

// TestNativePatchOrder: on a rectangular grid, patch rows are merge-group
// major over the (rows/2)×(cols/2) groups, as Hugging Face reshapes
// [gh/2, 2, 16, gw/2, 2, 16]; checked against the index formula.
func TestNativePatchOrder(t *testing.T) {
	const width, height = 64 * 3, 32 * 2 // 12×4 patches, 6×2 tokens
	rgb := make([]uint8, width*height*3)
	for i := range rgb {
		rgb[i] = uint8(i*7 + i/3)
	}
	g := DefaultGrid()
	pg := PatchGrid{Rows: height / 16, Cols: width / 16, Merge: 2}
	got := make([]float32, pg.NumPatches()*g.PatchDim())
	patchify(rgb, width, g, pg, got)
	for p := 0; p < pg.NumPatches(); p++ {
		group := p / 4
		br, bc := group/(pg.Cols/2), group%(pg.Cols/2)
		ir, ic := (p%4)/2, p%2
		row0, col0 := (2*br+ir)*16, (2*bc+ic)*16
		for e := 0; e < g.PatchDim(); e++ {
			c, py, px := e/512, (e/16)%16, e%16
			if want := normalizedLevel[rgb[((row0+py)*width+col0+px)*3+c]]; got[p*g.PatchDim()+e] != want {
				t.Fatalf("patch %d element %d = %v, want %v", p, e, got[p*g.PatchDim()+e], want)
			}
		}
	}
}
