package vision

import (
	"bytes"
	"encoding/binary"
)

// Orientation is the EXIF Orientation tag (0x0112) value 1..8: how the stored
// pixels must be transformed to display upright. Hugging Face's load_image
// applies it first (PIL.ImageOps.exif_transpose), so the model expects the
// upright image.
type Orientation int

const orientationTag = 0x0112

// maxIFDEntries bounds the walk over a (possibly hostile) IFD.
const maxIFDEntries = 4096

// fileOrientation finds the EXIF orientation in a JPEG (APP1 "Exif"), PNG
// (eXIf chunk), WebP (EXIF chunk) or TIFF (IFD0) file. It returns 1 (upright)
// when there is none or the metadata is malformed: a broken EXIF block must
// not make an otherwise good image unreadable, and Pillow ignores it too.
func fileOrientation(data []byte, format string) Orientation {
	var tiff []byte
	switch format {
	case "jpeg":
		tiff = jpegExif(data)
	case "png":
		tiff = pngExif(data)
	case "webp":
		tiff = webpExif(data)
	case "tiff":
		tiff = data
	}
	if tiff == nil {
		return 1
	}
	o := tiffOrientation(tiff)
	if o < 1 || o > 8 {
		return 1
	}
	return o
}

var exifHeader = []byte("Exif\x00\x00")

// jpegExif returns the TIFF structure inside the first APP1 Exif segment,
// scanning marker segments up to the start of scan.
func jpegExif(d []byte) []byte {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return nil
	}
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			return nil
		}
		marker := d[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2 // markers without a length
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end of image: metadata is over
			return nil
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return nil
		}
		seg := d[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, exifHeader) {
			return seg[len(exifHeader):]
		}
		i += 2 + n
	}
	return nil
}

// pngExif returns the payload of the eXIf chunk, if any before the image data.
func pngExif(d []byte) []byte {
	i := 8 // signature
	for i+8 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[i:]))
		typ := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-12 {
			return nil
		}
		if typ == "eXIf" {
			return d[i+8 : i+8+n]
		}
		if typ == "IEND" {
			return nil
		}
		i += 12 + n
	}
	return nil
}

// webpExif returns the payload of the RIFF "EXIF" chunk (some writers keep
// the "Exif\0\0" prefix of the JPEG form, which is skipped).
func webpExif(d []byte) []byte {
	i := 12 // "RIFF" size "WEBP"
	for i+8 <= len(d) {
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || n > len(d)-i-8 {
			return nil
		}
		if string(d[i:i+4]) == "EXIF" {
			p := d[i+8 : i+8+n]
			return bytes.TrimPrefix(p, exifHeader)
		}
		i += 8 + n + n&1 // chunks are padded to even sizes
	}
	return nil
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure (the body
// of an EXIF block). Returns 0 when absent or malformed.
func tiffOrientation(t []byte) Orientation {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	if n > maxIFDEntries {
		return 0
	}
	for k := 0; k < n; k++ {
		e := off + 2 + int64(k)*12
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != orientationTag {
			continue
		}
		typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if count < 1 {
			return 0
		}
		switch typ {
		case 3: // SHORT, stored in the first two bytes of the value field
			return Orientation(bo.Uint16(t[e+8:]))
		case 4: // LONG (non-standard but seen in the wild)
			return Orientation(bo.Uint32(t[e+8:]))
		}
		return 0
	}
	return 0
}

// applyOrientation returns m transformed to upright as Pillow's
// exif_transpose does: 2 mirror left-right, 3 rotate 180°, 4 mirror
// top-bottom, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate
// 90° counter-clockwise. Orientation 1 (or unknown) returns m itself.
func applyOrientation(m *RGBImage, o Orientation) *RGBImage {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.Width, m.Height
	ow, oh := w, h
	if o >= 5 { // the four transposing orientations swap width and height
		ow, oh = h, w
	}
	out := newRGBImage(ow, oh)
	for y := 0; y < oh; y++ {
		dst := out.Pix[y*ow*3:]
		for x := 0; x < ow; x++ {
			// (sx, sy) is the stored pixel shown at (x, y).
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			s := (sy*w + sx) * 3
			dst[x*3], dst[x*3+1], dst[x*3+2] = m.Pix[s], m.Pix[s+1], m.Pix[s+2]
		}
	}
	return out
}
