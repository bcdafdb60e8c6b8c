package vision

import (
	"fmt"
	"image"
	"image/color"
)

// Go's image/gif replaces the palette entry of the transparent index with
// transparent black, and returns only the first frame's rectangle. Pillow
// (9.4, first frame, mode P) keeps the stored palette colour — convert("RGB")
// ignores transparency — and shows the frame on a canvas of the logical
// screen size filled with the transparent index (or index 0). Both are
// restored here from the file's own header.

// gifFirstFrameToRGB converts Go's first frame to what Pillow shows.
func gifFirstFrameToRGB(img image.Image, data []byte, cfg image.Config) (*RGBImage, error) {
	m, ok := img.(*image.Paletted)
	if !ok {
		return toRGB(img)
	}
	info, err := parseGIFFirstFrame(data)
	if err != nil { // Go decoded it, so this is unexpected; keep Go's view
		return toRGB(img)
	}
	pal := make(color.Palette, len(m.Palette))
	copy(pal, m.Palette)
	for i := range pal {
		if i < len(info.palette) {
			pal[i] = info.palette[i]
		}
	}
	screen := image.Rect(0, 0, cfg.Width, cfg.Height)
	canvas := image.NewPaletted(screen, pal)
	if m.Rect != screen {
		fill := uint8(0)
		if info.transparent >= 0 {
			fill = uint8(info.transparent)
		}
		for i := range canvas.Pix {
			canvas.Pix[i] = fill
		}
	}
	r := m.Rect.Intersect(screen)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(canvas.Pix[canvas.PixOffset(r.Min.X, y):canvas.PixOffset(r.Max.X, y)],
			m.Pix[m.PixOffset(r.Min.X, y):m.PixOffset(r.Max.X, y)])
	}
	return toRGB(canvas)
}

type gifFrameInfo struct {
	palette     color.Palette // the first frame's palette, as stored (opaque)
	transparent int           // transparent index from its graphic control extension, or -1
}

// parseGIFFirstFrame reads the colour tables and the graphic control
// extension preceding the first image descriptor.
func parseGIFFirstFrame(d []byte) (gifFrameInfo, error) {
	info := gifFrameInfo{transparent: -1}
	bad := fmt.Errorf("gif: malformed header")
	if len(d) < 13 {
		return info, bad
	}
	readTable := func(i, flags int) (color.Palette, int, error) {
		n := 3 << (uint(flags&7) + 1)
		if i+n > len(d) {
			return nil, i, bad
		}
		p := make(color.Palette, n/3)
		for k := range p {
			p[k] = color.RGBA{d[i+3*k], d[i+3*k+1], d[i+3*k+2], 255}
		}
		return p, i + n, nil
	}
	i := 13
	var global color.Palette
	var err error
	if d[10]&0x80 != 0 {
		if global, i, err = readTable(i, int(d[10])); err != nil {
			return info, err
		}
	}
	for i < len(d) {
		switch d[i] {
		case 0x21: // extension
			if i+2 > len(d) {
				return info, bad
			}
			label := d[i+1]
			i += 2
			first := true
			for i < len(d) && d[i] != 0 {
				n := int(d[i])
				if i+1+n > len(d) {
					return info, bad
				}
				if label == 0xF9 && first && n >= 4 { // graphic control extension
					if d[i+1]&1 != 0 {
						info.transparent = int(d[i+4])
					} else {
						info.transparent = -1
					}
				}
				first = false
				i += 1 + n
			}
			i++ // block terminator
		case 0x2C: // image descriptor: the first frame
			if i+10 > len(d) {
				return info, bad
			}
			info.palette = global
			if d[i+9]&0x80 != 0 {
				local, _, err := readTable(i+10, int(d[i+9]))
				if err != nil {
					return info, err
				}
				info.palette = local
			}
			return info, nil
		default:
			return info, bad
		}
	}
	return info, bad
}
