package vision

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refDir holds Hugging Face/Pillow reference outputs (see its README.md).
const refDir = "../testdata/images"

type refImage struct {
	File            string `json:"file"`
	Format          string `json:"format"`
	Mode            string `json:"mode"`
	RGB448          string `json:"rgb448_png"`
	RGB448Sha       string `json:"rgb448_sha256_of_raw_pixels"`
	PatchesF32Sha   string `json:"patches_f32_sha256"`
	ExifOrientation *int   `json:"exif_orientation"`
	RGBSizeWH       [2]int `json:"rgb_size_wh"`
}

func loadManifest(t testing.TB) []refImage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(refDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Images []refImage `json:"images"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Images) == 0 {
		t.Fatal("manifest lists no images")
	}
	return m.Images
}

// readRefRGB decodes a reference rgb448.png with the standard library alone.
func readRefRGB(t testing.TB, name string) []uint8 {
	t.Helper()
	f, err := os.Open(filepath.Join(refDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := make([]uint8, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a != 0xffff {
				t.Fatalf("%s: reference has alpha", name)
			}
			out = append(out, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
		}
	}
	return out
}

type pixelDiff struct {
	max       int
	mean      float64
	equalFrac float64
}

func diffPixels(a, b []uint8) pixelDiff {
	var d pixelDiff
	sum, eq := 0, 0
	for i := range a {
		v := int(a[i]) - int(b[i])
		if v < 0 {
			v = -v
		}
		sum += v
		d.max = max(d.max, v)
		if v == 0 {
			eq++
		}
	}
	d.mean = float64(sum) / float64(len(a))
	d.equalFrac = float64(eq) / float64(len(a))
	return d
}

func patchesSha(p []float32) string {
	buf := make([]byte, 4*len(p))
	for i, v := range p {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	s := sha256.Sum256(buf)
	return hex.EncodeToString(s[:])
}

// d06 is a 16-bit gray PNG. The reference comes from Pillow 9.4, which opens
// it as mode "I" and clips every value above 255 to 255 in convert("RGB"):
// a version-dependent quirk that turns the image almost white. vlmrt keeps
// the high byte instead (as Pillow does for 16-bit RGB), so for d06 the test
// checks our own documented result rather than the reference.
const d06Exception = "d06_gray16_160x120.png"

func TestPreprocessMatchesReferences(t *testing.T) {
	ctx := context.Background()
	for _, ref := range loadManifest(t) {
		t.Run(strings.TrimSuffix(ref.File, filepath.Ext(ref.File)), func(t *testing.T) {
			p, err := PreprocessFile(ctx, filepath.Join(refDir, ref.File), PreprocessOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Patches) != 784*1536 || p.Resized.Width != 448 || p.Resized.Height != 448 {
				t.Fatalf("shape: %d patches values, resized %dx%d", len(p.Patches), p.Resized.Width, p.Resized.Height)
			}
			want := readRefRGB(t, ref.RGB448)
			d := diffPixels(p.Resized.Pix, want)
			t.Logf("%s (%s %s): max abs diff %d, mean %.4f, equal %.4f%%", ref.File, ref.Format, ref.Mode, d.max, d.mean, 100*d.equalFrac)

			if ref.File == d06Exception {
				checkD06HighByte(t, p)
				return
			}
			if ref.Format == "JPEG" || ref.Format == "WEBP" {
				// Lossy: Go's IDCT differs from libjpeg-turbo's; see README.
				if d.mean > 1.0 {
					t.Errorf("mean abs diff %.4f > 1.0 level", d.mean)
				}
				// Go's own YCbCr→RGB (replicated chroma) for comparison: the
				// libjpeg-turbo upsampling must not be worse.
				naive := naiveJPEGResized(t, filepath.Join(refDir, ref.File), ref)
				if naive != nil {
					nd := diffPixels(naive, want)
					t.Logf("  with Go's image/jpeg colour conversion instead: max %d, mean %.4f", nd.max, nd.mean)
					if d.mean > nd.mean {
						t.Errorf("libjpeg-style conversion (mean %.4f) is worse than Go's (%.4f)", d.mean, nd.mean)
					}
				}
				return
			}
			if d.equalFrac < 0.999 || d.max > 1 {
				t.Errorf("lossless image: %.4f%% equal (want ≥ 99.9%%), max diff %d (want ≤ 1)", 100*d.equalFrac, d.max)
			}
			s := sha256.Sum256(p.Resized.Pix)
			if got := hex.EncodeToString(s[:]); got != ref.RGB448Sha {
				t.Errorf("resized pixels sha256 %s, reference %s", got, ref.RGB448Sha)
			}
			if got := patchesSha(p.Patches); got != ref.PatchesF32Sha {
				t.Errorf("patches sha256 %s, reference %s", got, ref.PatchesF32Sha)
			}
		})
	}
}

// checkD06HighByte asserts the documented d06 behaviour: the 16-bit samples
// become their high byte, i.e. the result equals preprocessing an 8-bit gray
// image built from the decoded 16-bit values >> 8 — and that this differs
// from Pillow 9.4's clipped reference (so the exception is real).
func checkD06HighByte(t *testing.T, got *Preprocessed) {
	f, err := os.Open(filepath.Join(refDir, d06Exception))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g16, ok := img.(*image.Gray16)
	if !ok {
		t.Fatalf("d06 decodes to %T, want *image.Gray16", img)
	}
	g8 := image.NewGray(g16.Rect)
	for y := g16.Rect.Min.Y; y < g16.Rect.Max.Y; y++ {
		for x := g16.Rect.Min.X; x < g16.Rect.Max.X; x++ {
			g8.SetGray(x, y, colorGray(g16.Gray16At(x, y).Y>>8))
		}
	}
	want, err := PreprocessImage(context.Background(), g8, PreprocessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := diffPixels(got.Resized.Pix, want.Resized.Pix); d.max != 0 {
		t.Errorf("d06 is not the high-byte conversion: max diff %d", d.max)
	}
	ref := readRefRGB(t, "d06_gray16_160x120.rgb448.png")
	if d := diffPixels(got.Resized.Pix, ref); d.mean < 10 {
		t.Errorf("d06 unexpectedly close to Pillow 9.4's clipped reference (mean diff %.2f); revisit the documented exception", d.mean)
	}
}

// naiveJPEGResized runs the pipeline with Go's generic image.YCbCr colour
// conversion; nil for non-YCbCr JPEGs.
func naiveJPEGResized(t *testing.T, path string, ref refImage) []uint8 {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := decodePixels("jpeg", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.YCbCr); !ok {
		return nil
	}
	b := img.Bounds()
	rgb := newRGBImage(b.Dx(), b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			i := (y*b.Dx() + x) * 3
			rgb.Pix[i], rgb.Pix[i+1], rgb.Pix[i+2] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
	p, err := PreprocessImage(context.Background(), applyOrientation(rgb, fileOrientation(data, "jpeg")), PreprocessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Resized.Pix
}
