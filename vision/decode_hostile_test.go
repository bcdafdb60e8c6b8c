package vision

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// sampleFiles returns one small valid file per format, for truncation and
// fuzz seeds.
func sampleFiles(t testing.TB) map[string][]byte {
	t.Helper()
	src := image.NewNRGBA(image.Rect(0, 0, 9, 7))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 13)
	}
	out := map[string][]byte{}
	enc := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, src) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, src, nil) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) },
		"bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, src) },
		"tiff": func(b *bytes.Buffer) error { return tiff.Encode(b, src, nil) },
	}
	for name, f := range enc {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		out[name] = b.Bytes()
	}
	for _, name := range []string{"gopher-doc.with-alpha.lossless.webp", "video-001.lossy.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func TestDecodeRejectsBadInput(t *testing.T) {
	for name, data := range sampleFiles(t) {
		if _, err := DecodeImage(bytes.NewReader(data), 0); err != nil {
			t.Fatalf("%s: valid sample fails: %v", name, err)
		}
		// Every truncation is an error or a (partial) image, never a panic;
		// cutting inside the header must be an error.
		for n := 0; n < len(data); n += 1 + len(data)/200 {
			_, err := DecodeImage(bytes.NewReader(data[:n]), 0)
			if n < 16 && err == nil {
				t.Errorf("%s truncated to %d bytes: no error", name, n)
			}
		}
	}
	cases := map[string][]byte{
		"empty":   nil,
		"text":    []byte("hello, this is not an image"),
		"pdf":     []byte("%PDF-1.4\n"),
		"riff":    []byte("RIFF\x04\x00\x00\x00WAVE"),
		"png sig": []byte("\x89PNG\r\n\x1a\n"),
	}
	for name, data := range cases {
		_, err := DecodeImage(bytes.NewReader(data), 0)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !errors.Is(err, ErrUnsupportedFormat) && !errors.Is(err, ErrCorruptImage) {
			t.Errorf("%s: error %v is neither ErrUnsupportedFormat nor ErrCorruptImage", name, err)
		}
	}
}

// pngWithHeader returns a PNG signature + IHDR claiming w×h, followed by an
// IDAT that could never hold that many pixels.
func pngWithHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		c = append(c, typ...)
		c = append(c, data...)
		c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
		b = append(b, c...)
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b
}

// jpegWithHeader patches the SOF dimensions of a valid JPEG.
func jpegWithHeader(t *testing.T, w, h uint16) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	d := b.Bytes()
	i := bytes.Index(d, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(d[i+5:], h)
	binary.BigEndian.PutUint16(d[i+7:], w)
	return d
}

func TestPixelLimitCheckedFromHeader(t *testing.T) {
	huge := map[string][]byte{
		"png 100k x 100k":   pngWithHeader(100000, 100000),
		"jpeg 65k x 65k":    jpegWithHeader(t, 65000, 65000),
		"png 30000 x 30000": pngWithHeader(30000, 30000),
	}
	for name, data := range huge {
		start := time.Now()
		_, err := DecodeImage(bytes.NewReader(data), 0)
		if !errors.Is(err, ErrImageTooLarge) {
			t.Errorf("%s: error %v, want ErrImageTooLarge", name, err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("%s: took %v: pixels were decoded before the check", name, el)
		}
	}
	// Dimensions Go's PNG reader itself refuses are a corrupt-file error.
	if _, err := DecodeImage(bytes.NewReader(pngWithHeader(1<<31-1, 1<<31-1)), 0); !errors.Is(err, ErrCorruptImage) {
		t.Errorf("png 2^31 x 2^31: error %v, want ErrCorruptImage", err)
	}
	// The limit is configurable: d02 is 640x480 = 307200 pixels.
	data, err := os.ReadFile(filepath.Join(refDir, "d02_gradient_640x480.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeImage(bytes.NewReader(data), 307199); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("limit 307199: error %v, want ErrImageTooLarge", err)
	}
	if _, err := DecodeImage(bytes.NewReader(data), 307200); err != nil {
		t.Errorf("limit 307200: %v", err)
	}
	// Input larger than any image within the limit could need is refused
	// without reading it all.
	big := append(append([]byte{}, data...), make([]byte, 10000)...)
	if _, err := DecodeImage(bytes.NewReader(big), 100); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("oversized stream: error %v, want ErrImageTooLarge", err)
	}
	// In-memory images obey the limit too.
	_, err = PreprocessImage(t.Context(), image.NewGray(image.Rect(0, 0, 100, 100)), PreprocessOptions{MaxPixels: 9999})
	if !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("PreprocessImage over the limit: %v", err)
	}
}

func TestZeroSizedImages(t *testing.T) {
	for name, data := range map[string][]byte{
		"png 0x10": pngWithHeader(0, 10),
		"png 10x0": pngWithHeader(10, 0),
		"jpeg 0x8": jpegWithHeader(t, 0, 8),
	} {
		_, err := DecodeImage(bytes.NewReader(data), 0)
		if err == nil || !strings.Contains(err.Error(), "vision:") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	_, err := PreprocessImage(t.Context(), image.NewRGBA(image.Rect(0, 0, 0, 5)), PreprocessOptions{})
	if err == nil {
		t.Error("PreprocessImage on an empty image: no error")
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder entry point: it must
// return an error or a well-formed image within the pixel limit, never
// panic.
func FuzzDecode(f *testing.F) {
	for _, data := range sampleFiles(f) {
		f.Add(data)
	}
	f.Add(pngWithHeader(3, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		m, err := DecodeImage(bytes.NewReader(data), limit)
		if err != nil {
			return
		}
		if m.Width <= 0 || m.Height <= 0 || m.Width*m.Height > limit || len(m.Pix) != 3*m.Width*m.Height {
			t.Fatalf("bad image: %dx%d with %d bytes", m.Width, m.Height, len(m.Pix))
		}
	})
}
