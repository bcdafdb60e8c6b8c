package vision

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// exifTIFF builds a minimal EXIF TIFF structure holding only IFD0 with the
// Orientation tag, in either byte order.
func exifTIFF(o uint16, bo binary.ByteOrder) []byte {
	b := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(b, "II")
	} else {
		copy(b, "MM")
	}
	bo.PutUint16(b[2:], 42)
	bo.PutUint32(b[4:], 8)       // IFD0 offset
	bo.PutUint16(b[8:], 1)       // one entry
	bo.PutUint16(b[10:], 0x0112) // Orientation
	bo.PutUint16(b[12:], 3)      // SHORT
	bo.PutUint32(b[14:], 1)      // count
	bo.PutUint16(b[18:], o)      // value, left-justified
	return b                     // next-IFD offset stays 0
}

// withJPEGExif inserts an APP1 Exif segment right after SOI.
func withJPEGExif(jpg []byte, tiff []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(payload)))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// displayPos maps a stored pixel to where it appears upright, straight from
// the EXIF definition of each orientation (which visual side the stored 0th
// row and 0th column are on) — the forward direction, independent of the
// implementation's inverse mapping.
func displayPos(o, sx, sy, w, h int) (int, int) {
	switch o {
	case 1: // row0 top, col0 left
		return sx, sy
	case 2: // row0 top, col0 right
		return w - 1 - sx, sy
	case 3: // row0 bottom, col0 right
		return w - 1 - sx, h - 1 - sy
	case 4: // row0 bottom, col0 left
		return sx, h - 1 - sy
	case 5: // row0 left, col0 top
		return sy, sx
	case 6: // row0 right, col0 top
		return h - 1 - sy, sx
	case 7: // row0 right, col0 bottom
		return h - 1 - sy, w - 1 - sx
	case 8: // row0 left, col0 bottom
		return sy, w - 1 - sx
	}
	panic("bad orientation")
}

func checkOriented(t *testing.T, o int, stored, got *RGBImage) {
	t.Helper()
	w, h := stored.Width, stored.Height
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	if got.Width != ow || got.Height != oh {
		t.Fatalf("orientation %d: size %dx%d, want %dx%d", o, got.Width, got.Height, ow, oh)
	}
	for sy := 0; sy < h; sy++ {
		for sx := 0; sx < w; sx++ {
			dx, dy := displayPos(o, sx, sy, w, h)
			s, d := stored.Pix[(sy*w+sx)*3:][:3], got.Pix[(dy*ow+dx)*3:][:3]
			if !bytes.Equal(s, d) {
				t.Fatalf("orientation %d: stored (%d,%d) %v shown at (%d,%d) as %v", o, sx, sy, s, dx, dy, d)
			}
		}
	}
}

func TestJPEGExifOrientations(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 24, 16)) // non-square, so transposes show
	for y := 0; y < 16; y++ {
		for x := 0; x < 24; x++ {
			src.Set(x, y, color.RGBA{uint8(x * 10), uint8(y * 15), uint8((x + y) * 5), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	stored, err := DecodeImage(bytes.NewReader(plain), 0)
	if err != nil {
		t.Fatal(err)
	}
	for o := 1; o <= 8; o++ {
		bo := binary.ByteOrder(binary.BigEndian)
		if o%2 == 0 {
			bo = binary.LittleEndian
		}
		got, err := DecodeImage(bytes.NewReader(withJPEGExif(plain, exifTIFF(uint16(o), bo))), 0)
		if err != nil {
			t.Fatal(err)
		}
		checkOriented(t, o, stored, got)
	}
	// Out-of-range or broken EXIF is ignored, as Pillow does.
	for _, bad := range [][]byte{exifTIFF(9, binary.BigEndian), exifTIFF(0, binary.LittleEndian), []byte("MM\x00*\xff\xff\xff\xff"), []byte("junk")} {
		got, err := DecodeImage(bytes.NewReader(withJPEGExif(plain, bad)), 0)
		if err != nil {
			t.Fatal(err)
		}
		checkOriented(t, 1, stored, got)
	}
}

// TestPNGExifOrientation: Pillow's exif_transpose also honours a PNG eXIf chunk.
func TestPNGExifOrientation(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	stored, err := DecodeImage(bytes.NewReader(plain), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Insert eXIf after IHDR (8-byte signature + 25-byte IHDR chunk).
	payload := exifTIFF(6, binary.BigEndian)
	chunk := make([]byte, 8, 12+len(payload))
	binary.BigEndian.PutUint32(chunk, uint32(len(payload)))
	copy(chunk[4:], "eXIf")
	chunk = append(chunk, payload...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	withExif := append(append(append([]byte{}, plain[:33]...), chunk...), plain[33:]...)
	got, err := DecodeImage(bytes.NewReader(withExif), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkOriented(t, 6, stored, got)
}
