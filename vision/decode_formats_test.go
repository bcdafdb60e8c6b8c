package vision

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// expectedFromPNG decodes a PNG with the standard library alone and returns
// its straight (non-premultiplied) RGB bytes: the independent expectation
// for files that store the same pixels in another lossless format.
func expectedFromPNG(t *testing.T, path string) (int, int, []uint8) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := make([]uint8, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return b.Dx(), b.Dy(), out
}

func decodeTestFile(t *testing.T, path string) *RGBImage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeImage(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLosslessFormatsMatchPNG(t *testing.T) {
	cases := []struct{ file, png string }{
		{"gopher-doc.with-alpha.lossless.webp", "gopher-doc.with-alpha.png"},
		{"video-001.bmp", "video-001.png"},
		{"video-001.tiff", "video-001.png"},
		{"video-001-16bit.tiff", "video-001.png"},
		{"blue-purple-pink.lzwcompressed.tiff", "blue-purple-pink.png"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := decodeTestFile(t, filepath.Join("testdata", c.file))
			w, h, want := expectedFromPNG(t, filepath.Join("testdata", c.png))
			if got.Width != w || got.Height != h {
				t.Fatalf("size %dx%d, want %dx%d", got.Width, got.Height, w, h)
			}
			if d := diffPixels(got.Pix, want); d.max != 0 {
				t.Errorf("differs from the PNG: max %d, mean %.4f", d.max, d.mean)
			}
		})
	}
}

// TestLossyWebP checks the VP8 path against the uncompressed source image.
// Compression error stays, but a wrong colour model (JPEG full-range instead
// of VP8's limited range) shows as a large systematic error: the naive
// image.YCbCr conversion is measured alongside to prove the check can fail.
func TestLossyWebP(t *testing.T) {
	path := filepath.Join("testdata", "video-001.lossy.webp")
	got := decodeTestFile(t, path)
	w, h, src := expectedFromPNG(t, filepath.Join("testdata", "video-001.png"))
	if got.Width != w || got.Height != h {
		t.Fatalf("size %dx%d, want %dx%d", got.Width, got.Height, w, h)
	}
	ours := diffPixels(got.Pix, src)

	data, _ := os.ReadFile(path)
	raw, err := decodePixels("webp", data)
	if err != nil {
		t.Fatal(err)
	}
	naive := make([]uint8, 0, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b, _ := raw.At(x, y).RGBA()
			naive = append(naive, uint8(r>>8), uint8(g>>8), uint8(b>>8))
		}
	}
	nd := diffPixels(naive, src)

	// An independent float conversion: BT.601 limited range, chroma
	// interpolated bilinearly (9:3:3:1 from the nearest 2x2 chroma samples,
	// chroma sited between luma pairs, edges clamped).
	ycc := raw.(*image.YCbCr)
	cw, ch := (w+1)/2, (h+1)/2
	chroma := func(plane []uint8, x, y int) float64 {
		at := func(cx, cy int) float64 {
			cx, cy = max(0, min(cx, cw-1)), max(0, min(cy, ch-1))
			return float64(plane[cy*ycc.CStride+cx])
		}
		nx, ny := x/2, y/2
		fx, fy := nx-1, ny-1
		if x%2 == 1 {
			fx = nx + 1
		}
		if y%2 == 1 {
			fy = ny + 1
		}
		return (9*at(nx, ny) + 3*at(fx, ny) + 3*at(nx, fy) + at(fx, fy)) / 16
	}
	float := make([]uint8, 0, 3*w*h)
	clamp := func(v float64) uint8 { return uint8(max(0, min(255, v+0.5))) }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			yv := 1.164 * (float64(ycc.Y[ycc.YOffset(x, y)]) - 16)
			u := chroma(ycc.Cb, x, y) - 128
			v := chroma(ycc.Cr, x, y) - 128
			float = append(float, clamp(yv+1.596*v), clamp(yv-0.391*u-0.813*v), clamp(yv+2.018*u))
		}
	}
	fd := diffPixels(got.Pix, float)
	t.Logf("lossy WebP vs source: ours max %d mean %.3f; naive full-range YCbCr max %d mean %.3f; ours vs float limited-range bilinear-chroma: max %d mean %.3f",
		ours.max, ours.mean, nd.max, nd.mean, fd.max, fd.mean)
	if ours.mean >= nd.mean {
		t.Errorf("lossy WebP is no closer to the source than the full-range conversion: %.3f vs %.3f", ours.mean, nd.mean)
	}
	// Only integer rounding (libwebp's two-step chroma averages, 8-bit
	// chroma, 6-bit fixed point) separates the two.
	if fd.max > 2 || fd.mean > 0.5 {
		t.Errorf("lossy WebP differs from the limited-range bilinear formula: max %d, mean %.3f", fd.max, fd.mean)
	}
}

// TestVP8PixelFormula checks libwebp's integer YUV→RGB against the BT.601
// limited-range formula in floating point (R = 1.164(Y-16) + 1.596(V-128),
// G = 1.164(Y-16) - 0.391(U-128) - 0.813(V-128), B = 1.164(Y-16) + 2.018(U-128)).
func TestVP8PixelFormula(t *testing.T) {
	clamp := func(v float64) float64 { return max(0, min(255, v)) }
	var px [3]uint8
	for y := 0; y < 256; y += 5 {
		for u := 0; u < 256; u += 15 {
			for v := 0; v < 256; v += 15 {
				vp8Pixel(px[:], int32(y), int32(u), int32(v))
				yf := 1.164 * float64(y-16)
				want := [3]float64{
					clamp(yf + 1.596*float64(v-128)),
					clamp(yf - 0.391*float64(u-128) - 0.813*float64(v-128)),
					clamp(yf + 2.018*float64(u-128)),
				}
				for c := 0; c < 3; c++ {
					if d := float64(px[c]) - want[c]; d > 1.5 || d < -1.5 {
						t.Fatalf("Y=%d U=%d V=%d channel %d: %d, formula %.2f", y, u, v, c, px[c], want[c])
					}
				}
			}
		}
	}
}

// TestGIFFirstFrame builds a GIF whose first frame covers only part of the
// logical screen and uses a transparent palette index whose stored colour is
// patched to (200,100,50). Pillow's convert("RGB") shows the stored palette
// colour for transparent pixels and fills the area outside the frame with
// the transparent index.
func TestGIFFirstFrame(t *testing.T) {
	pal := color.Palette{
		color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255},
		color.RGBA{0, 0, 255, 255}, color.RGBA{0, 0, 0, 0}, // index 3: transparent
	}
	frame := image.NewPaletted(image.Rect(2, 1, 6, 4), pal)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i % 4)
	}
	second := image.NewPaletted(image.Rect(0, 0, 8, 6), pal) // must be ignored
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{
		Image:  []*image.Paletted{frame, second},
		Delay:  []int{0, 0},
		Config: image.Config{ColorModel: pal, Width: 8, Height: 6},
	})
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if data[10]&0x80 == 0 {
		t.Fatal("encoder wrote no global colour table")
	}
	copy(data[13+3*3:], []byte{200, 100, 50}) // the transparent entry's stored colour

	got, err := DecodeImage(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 8 || got.Height != 6 {
		t.Fatalf("size %dx%d, want the 8x6 logical screen", got.Width, got.Height)
	}
	stored := [][3]uint8{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {200, 100, 50}}
	for y := 0; y < 6; y++ {
		for x := 0; x < 8; x++ {
			want := stored[3]
			if (image.Point{x, y}).In(frame.Rect) {
				want = stored[frame.ColorIndexAt(x, y)]
			}
			i := (y*8 + x) * 3
			if g := [3]uint8(got.Pix[i : i+3]); g != want {
				t.Errorf("pixel (%d,%d) = %v, want %v", x, y, g, want)
			}
		}
	}
}

// TestPNG16BitKeepsHighByte: 16-bit RGB(A) keeps the high byte of each
// sample (Pillow's "RGB;16B" raw mode), and alpha is dropped without
// premultiplying.
func TestPNG16BitKeepsHighByte(t *testing.T) {
	src := image.NewNRGBA64(image.Rect(0, 0, 5, 3))
	for i := 0; i < len(src.Pix); i += 2 {
		src.Pix[i], src.Pix[i+1] = uint8(i*37), uint8(255-i) // high, low byte
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeImage(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < 15; p++ {
		for c := 0; c < 3; c++ {
			if want := src.Pix[p*8+c*2]; got.Pix[p*3+c] != want {
				t.Fatalf("pixel %d channel %d = %d, want high byte %d", p, c, got.Pix[p*3+c], want)
			}
		}
	}
}

// TestStraightColourUnderAlpha: translucent and fully transparent pixels keep
// their stored colour (no premultiplication, no compositing on white).
func TestStraightColourUnderAlpha(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	copy(src.Pix, []uint8{10, 200, 30, 0, 40, 50, 60, 128, 255, 255, 255, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeImage(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{10, 200, 30, 40, 50, 60, 255, 255, 255}
	if !bytes.Equal(got.Pix, want) {
		t.Errorf("got %v, want %v", got.Pix, want)
	}
	// The same through PreprocessImage on the in-memory image.
	rgb, err := toRGB(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rgb.Pix, want) {
		t.Errorf("toRGB got %v, want %v", rgb.Pix, want)
	}
}

// TestCMYKFormula checks Pillow's cmyk2rgb on hand-computed values:
// R = (255-K) - round(C*(255-K)/255).
func TestCMYKFormula(t *testing.T) {
	cases := []struct{ c, m, y, k, r, g, b uint8 }{
		{0, 0, 0, 0, 255, 255, 255},
		{255, 255, 255, 0, 0, 0, 0},
		{0, 0, 0, 255, 0, 0, 0},
		{128, 64, 0, 0, 127, 191, 255},
		{100, 0, 0, 100, 94, 155, 155}, // nk=155: 155 - round(100*155/255 = 60.78) = 94
	}
	for _, c := range cases {
		var px [3]uint8
		cmykRowToRGB(px[:], []uint8{c.c, c.m, c.y, c.k})
		if px != [3]uint8{c.r, c.g, c.b} {
			t.Errorf("CMYK %d,%d,%d,%d → %v, want %d,%d,%d", c.c, c.m, c.y, c.k, px, c.r, c.g, c.b)
		}
	}
}
