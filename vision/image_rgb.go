package vision

import (
	"fmt"
	"image"
	"image/color"
)

// RGBImage is an 8-bit RGB image with packed R,G,B bytes in row-major order:
// the pixel format Pillow's mode "RGB" resamples, and the form every decoded
// file is brought to before resizing. It implements image.Image.
type RGBImage struct {
	Width, Height int
	Pix           []uint8 // len = Width*Height*3
}

// newRGBImage allocates a w×h image.
func newRGBImage(w, h int) *RGBImage {
	return &RGBImage{Width: w, Height: h, Pix: make([]uint8, w*h*3)}
}

// ColorModel implements image.Image.
func (m *RGBImage) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image.
func (m *RGBImage) Bounds() image.Rectangle { return image.Rect(0, 0, m.Width, m.Height) }

// At implements image.Image.
func (m *RGBImage) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= m.Width || y >= m.Height {
		return color.RGBA{}
	}
	i := (y*m.Width + x) * 3
	return color.RGBA{m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255}
}

// toRGB converts any decoded image to RGB the way Pillow's convert("RGB")
// does, which is what Hugging Face's convert_to_rgb and load_image use:
//   - alpha is dropped and the stored straight (non-premultiplied) colour is
//     kept, even under alpha 0; nothing is composited onto white;
//   - gray is replicated into R=G=B; palette entries are used as stored
//     (their transparency ignored);
//   - 16-bit samples keep their high byte;
//   - CMYK uses Pillow's integer formula.
//
// Types are read directly from their pixel buffers: image.Image.At().RGBA()
// is premultiplied and would darken translucent pixels.
func toRGB(img image.Image) (*RGBImage, error) {
	if m, ok := img.(*RGBImage); ok {
		return m, nil
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("vision: image has no pixels (%dx%d)", w, h)
	}
	out := newRGBImage(w, h)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			src := m.Pix[(y)*m.Stride : y*m.Stride+w]
			dst := out.Pix[y*w*3:]
			for x, v := range src {
				dst[x*3], dst[x*3+1], dst[x*3+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+2*w]
			dst := out.Pix[y*w*3:]
			for x := 0; x < w; x++ {
				v := src[2*x] // big-endian: the high byte comes first
				dst[x*3], dst[x*3+1], dst[x*3+2] = v, v, v
			}
		}
	case *image.RGBA:
		// Premultiplied; exact for the opaque images Go's decoders produce
		// in this type, un-premultiplied as well as possible otherwise.
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+4*w]
			dst := out.Pix[y*w*3:]
			for x := 0; x < w; x++ {
				r, g, bl, a := src[4*x], src[4*x+1], src[4*x+2], src[4*x+3]
				if a != 255 {
					r, g, bl = unpremultiply(r, a), unpremultiply(g, a), unpremultiply(bl, a)
				}
				dst[x*3], dst[x*3+1], dst[x*3+2] = r, g, bl
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+4*w]
			dst := out.Pix[y*w*3:]
			for x := 0; x < w; x++ {
				dst[x*3], dst[x*3+1], dst[x*3+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+8*w]
			dst := out.Pix[y*w*3:]
			for x := 0; x < w; x++ {
				p := src[8*x:]
				r, g, bl, a := p[0], p[2], p[4], p[6]
				if a != 255 {
					r, g, bl = unpremultiply(r, a), unpremultiply(g, a), unpremultiply(bl, a)
				}
				dst[x*3], dst[x*3+1], dst[x*3+2] = r, g, bl
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+8*w]
			dst := out.Pix[y*w*3:]
			for x := 0; x < w; x++ {
				dst[x*3], dst[x*3+1], dst[x*3+2] = src[8*x], src[8*x+2], src[8*x+4]
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8 // indexes past the palette stay black, as in Pillow
		for i, c := range m.Palette {
			if i == 256 {
				break
			}
			pal[i] = straightRGB(c)
		}
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+w]
			dst := out.Pix[y*w*3:]
			for x, idx := range src {
				p := pal[idx]
				dst[x*3], dst[x*3+1], dst[x*3+2] = p[0], p[1], p[2]
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+4*w]
			cmykRowToRGB(out.Pix[y*w*3:(y+1)*w*3], src)
		}
	case *image.YCbCr:
		jfifToRGB(m, out)
	case *image.NYCbCrA:
		jfifToRGB(&m.YCbCr, out)
	default:
		// Other types (user-provided images): go through the straight colour
		// model, exact whenever the colour is opaque or already straight.
		for y := 0; y < h; y++ {
			dst := out.Pix[y*w*3:]
			for x := 0; x < w; x++ {
				p := straightRGB(img.At(b.Min.X+x, b.Min.Y+y))
				dst[x*3], dst[x*3+1], dst[x*3+2] = p[0], p[1], p[2]
			}
		}
	}
	return out, nil
}

// straightRGB returns the non-premultiplied 8-bit colour of c.
func straightRGB(c color.Color) [3]uint8 {
	switch v := c.(type) {
	case color.NRGBA:
		return [3]uint8{v.R, v.G, v.B}
	case color.NRGBA64:
		return [3]uint8{uint8(v.R >> 8), uint8(v.G >> 8), uint8(v.B >> 8)}
	case color.Gray:
		return [3]uint8{v.Y, v.Y, v.Y}
	case color.Gray16:
		return [3]uint8{uint8(v.Y >> 8), uint8(v.Y >> 8), uint8(v.Y >> 8)}
	case color.CMYK:
		var p [3]uint8
		cmykRowToRGB(p[:], []uint8{v.C, v.M, v.Y, v.K})
		return p
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}

// unpremultiply recovers a straight 8-bit value from a premultiplied one.
func unpremultiply(v, a uint8) uint8 {
	if a == 0 {
		return 0
	}
	x := (uint32(v)*255 + uint32(a)/2) / uint32(a)
	if x > 255 {
		x = 255
	}
	return uint8(x)
}

// cmykRowToRGB converts packed C,M,Y,K bytes (0 = no ink) to R,G,B with
// Pillow's cmyk2rgb (libImaging/Convert.c): with nk = 255-K, each channel is
// nk - round(ink*nk/255), using Pillow's exact integer division by 255.
func cmykRowToRGB(dst, src []uint8) {
	for i, j := 0, 0; i+3 < len(src) && j+2 < len(dst); i, j = i+4, j+3 {
		nk := 255 - int32(src[i+3])
		dst[j] = clampU8(nk - mulDiv255(int32(src[i]), nk))
		dst[j+1] = clampU8(nk - mulDiv255(int32(src[i+1]), nk))
		dst[j+2] = clampU8(nk - mulDiv255(int32(src[i+2]), nk))
	}
}

// mulDiv255 is Pillow's MULDIV255: a*b/255 rounded, without a division.
func mulDiv255(a, b int32) int32 {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

func clampU8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
