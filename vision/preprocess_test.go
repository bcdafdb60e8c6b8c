package vision

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

func TestGridDefaults(t *testing.T) {
	g := DefaultGrid()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if g.NumPatches() != 784 || g.PatchDim() != 1536 || g.NumTokens() != 196 || g.MergedSide() != 14 || g.PatchesPerSide() != 28 {
		t.Errorf("default grid: %d patches, dim %d, %d tokens, merged side %d", g.NumPatches(), g.PatchDim(), g.NumTokens(), g.MergedSide())
	}
	for _, bad := range []Grid{{}, {ImageSize: 448, PatchSize: 16, TemporalPatch: 2, MergeSize: 3}, {ImageSize: 440, PatchSize: 16, TemporalPatch: 2, MergeSize: 2}, {ImageSize: -448, PatchSize: -16, TemporalPatch: 2, MergeSize: 2}} {
		if bad.Validate() == nil {
			t.Errorf("grid %+v accepted", bad)
		}
	}
	_, err := PreprocessImage(context.Background(), image.NewGray(image.Rect(0, 0, 4, 4)), PreprocessOptions{Grid: Grid{ImageSize: 100, PatchSize: 16, TemporalPatch: 2, MergeSize: 2}})
	if err == nil {
		t.Error("invalid grid accepted by PreprocessImage")
	}
}

// TestPatchOrder checks patchify against the processor's index formula as
// the references' README states it: row p has block = p/4, (br, bc) =
// divmod(block, 14), (ir, ic) = divmod(p%4, 2), top-left pixel
// ((2br+ir)*16, (2bc+ic)*16); column e = c*512 + t*256 + py*16 + px.
func TestPatchOrder(t *testing.T) {
	g := DefaultGrid()
	rgb := make([]uint8, 448*448*3)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rgb {
		rgb[i] = uint8(r.IntN(256))
	}
	got := make([]float32, g.NumPatches()*g.PatchDim())
	patchify(rgb, 448, g, PatchGrid{Rows: 28, Cols: 28, Merge: 2}, got)
	for p := 0; p < 784; p++ {
		block := p / 4
		br, bc := block/14, block%14
		ir, ic := (p%4)/2, (p%4)%2
		row0, col0 := (2*br+ir)*16, (2*bc+ic)*16
		for e := 0; e < 1536; e++ {
			c, tt, py, px := e/512, (e/256)%2, (e/16)%16, e%16
			_ = tt // both temporal copies hold the same frame
			v := rgb[((row0+py)*448+col0+px)*3+c]
			want := (float32(float64(v)*(1.0/255)) - 0.5) / 0.5
			if got[p*1536+e] != want {
				t.Fatalf("patch %d elem %d = %v, want %v", p, e, got[p*1536+e], want)
			}
		}
	}
}

// TestNormalizedLevels pins the normalization of a few levels to values
// computed by hand: (v/255 - 0.5) / 0.5.
func TestNormalizedLevels(t *testing.T) {
	for v, want := range map[int]float32{0: -1, 255: 1, 51: -0.6, 204: 0.6} {
		if got := normalizedLevel[v]; got != want {
			t.Errorf("level %d → %v, want %v", v, got, want)
		}
	}
}

func TestParseResizeMode(t *testing.T) {
	for _, m := range []ResizeMode{ResizePlain, ResizeLetterbox, ResizeCrop} {
		got, err := ParseResizeMode(m.String())
		if err != nil || got != m {
			t.Errorf("%v: round trip gave %v, %v", m, got, err)
		}
	}
	if m, err := ParseResizeMode(""); err != nil || m != ResizePlain {
		t.Errorf(`"" → %v, %v; want plain`, m, err)
	}
	if _, err := ParseResizeMode("stretch"); err == nil {
		t.Error("unknown mode accepted")
	}
}

func solid(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func pixelAt(m *RGBImage, x, y int) [3]uint8 {
	i := (y*m.Width + x) * 3
	return [3]uint8(m.Pix[i : i+3])
}

func TestLetterbox(t *testing.T) {
	ctx := context.Background()
	fill := color.NRGBA{50, 100, 150, 255}
	pad := [3]uint8{LetterboxPad, LetterboxPad, LetterboxPad}
	in := [3]uint8{50, 100, 150}
	// 200x100 → 448x224, centered vertically at rows 112..335.
	p, err := PreprocessImage(ctx, solid(200, 100, fill), PreprocessOptions{Resize: ResizeLetterbox})
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 448; y++ {
		want := pad
		if y >= 112 && y < 336 {
			want = in
		}
		for _, x := range []int{0, 223, 447} {
			if got := pixelAt(p.Resized, x, y); got != want {
				t.Fatalf("wide letterbox (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
	// 30x90 → 149x448 (30*448/90 = 149.3), centered horizontally at 149..297.
	p, err = PreprocessImage(ctx, solid(30, 90, fill), PreprocessOptions{Resize: ResizeLetterbox})
	if err != nil {
		t.Fatal(err)
	}
	for x := 0; x < 448; x++ {
		want := pad
		if x >= 149 && x < 298 {
			want = in
		}
		if got := pixelAt(p.Resized, x, 200); got != want {
			t.Fatalf("tall letterbox (%d,200) = %v, want %v", x, got, want)
		}
	}
}

func TestCrop(t *testing.T) {
	// 300x100: red | blue | green thirds; the center square is all blue.
	m := solid(300, 100, color.NRGBA{0, 0, 255, 255})
	for y := 0; y < 100; y++ {
		for x := 0; x < 100; x++ {
			m.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 255})
			m.SetNRGBA(x+200, y, color.NRGBA{0, 255, 0, 255})
		}
	}
	p, err := PreprocessImage(context.Background(), m, PreprocessOptions{Resize: ResizeCrop})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(p.Resized.Pix); i += 3 {
		if got := [3]uint8(p.Resized.Pix[i : i+3]); got != [3]uint8{0, 0, 255} {
			t.Fatalf("crop pixel %d = %v, want pure blue", i/3, got)
		}
	}
	// The plain resize of the same image keeps all three colours.
	plain, err := PreprocessImage(context.Background(), m, PreprocessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pixelAt(plain.Resized, 0, 0); got != [3]uint8{255, 0, 0} {
		t.Errorf("plain resize left edge = %v, want red", got)
	}
}

// TestSizeUnchangedIsExactCopy: a 448x448 input passes through untouched
// (Pillow returns a copy when the size does not change), and the result does
// not alias the caller's image.
func TestSizeUnchangedIsExactCopy(t *testing.T) {
	src := newRGBImage(448, 448)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range src.Pix {
		src.Pix[i] = uint8(r.IntN(256))
	}
	orig := append([]uint8(nil), src.Pix...)
	p, err := PreprocessImage(context.Background(), src, PreprocessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Resized.Pix, orig) {
		t.Error("448x448 input changed by the resize")
	}
	p.Resized.Pix[0] ^= 0xFF
	if src.Pix[0] != orig[0] {
		t.Error("Resized aliases the input image")
	}
}

// TestResizeOnlyOneAxis: when only the width changes the vertical pass is
// skipped, so every row is resampled independently and a single-row image
// gives the same row as a taller constant-column image.
func TestResizeOnlyOneAxis(t *testing.T) {
	ctx := context.Background()
	row := newRGBImage(1000, 1)
	for i := range row.Pix {
		row.Pix[i] = uint8(i * 7)
	}
	tall := newRGBImage(1000, 448)
	for y := 0; y < 448; y++ {
		copy(tall.Pix[y*3000:], row.Pix)
	}
	a, err := resizeBicubic(ctx, row, 448, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := resizeBicubic(ctx, tall, 448, 448)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 448; y++ {
		if !bytes.Equal(b.Pix[y*448*3:(y+1)*448*3], a.Pix) {
			t.Fatalf("row %d differs from the single-row resize", y)
		}
	}
}

func TestWeightsSumToOne(t *testing.T) {
	for _, n := range []int{1, 7, 50, 447, 448, 449, 1000, 4032} {
		w := computeWeights(n, 448)
		for xx := 0; xx < 448; xx++ {
			var s int64
			for _, c := range w.coeff[xx*w.taps : xx*w.taps+int(w.count[xx])] {
				s += int64(c)
			}
			if d := s - 1<<precisionBits; d < -int64(w.count[xx]) || d > int64(w.count[xx]) {
				t.Fatalf("in %d, out %d: weights sum to %d, want 2^22 ± rounding", n, xx, s)
			}
		}
	}
}

func TestPreprocessHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := PreprocessImage(ctx, solid(500, 300, color.NRGBA{1, 2, 3, 255}), PreprocessOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := PreprocessReader(ctx, bytes.NewReader(nil), PreprocessOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context (reader): %v", err)
	}
}
