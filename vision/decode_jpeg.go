package vision

import (
	"context"
	"image"
)

// Go's image/jpeg returns the raw Y, Cb, Cr planes with the chroma still
// subsampled. Pillow gets RGB from libjpeg-turbo, which upsamples chroma
// with its "fancy" triangle filter and converts with fixed-point tables; Go's
// own YCbCr.At replicates chroma samples instead, which is the largest part
// of the difference at colour edges. Reproducing libjpeg-turbo's upsampling
// and conversion here leaves only the IDCT rounding differences.

// jpegToRGB converts a decoded JPEG to RGB as libjpeg-turbo + Pillow would.
func jpegToRGB(img image.Image) (*RGBImage, error) {
	if m, ok := img.(*image.YCbCr); ok && m.Rect.Min == (image.Point{}) {
		return jfifFancyToRGB(m), nil
	}
	return toRGB(img) // gray, CMYK, and anything unexpected
}

// libjpeg-turbo's YCbCr→RGB tables (jdcolor.c), 16-bit fixed point.
var jfifCrR, jfifCbB, jfifCrG, jfifCbG = func() (crR, cbB, crG, cbG [256]int32) {
	const scaleBits = 16
	const half = 1 << (scaleBits - 1)
	fix := func(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		crR[i] = (fix(1.40200)*x + half) >> scaleBits
		cbB[i] = (fix(1.77200)*x + half) >> scaleBits
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + half
	}
	return
}()

// rangeLimit clamps -512..767 to 0..255 by lookup, like libjpeg's
// range_limit table: cheaper than two branches per channel.
var rangeLimit = func() (t [1280]uint8) {
	for i := range t {
		t[i] = clampU8(int32(i - 512))
	}
	return t
}()

// jfifPixel converts one full-resolution Y, Cb, Cr sample to RGB.
func jfifPixel(dst []uint8, y, cb, cr uint8) {
	yy := int32(y) + 512
	dst = dst[:3:3]
	dst[0] = rangeLimit[(yy+jfifCrR[cr])&1023]
	dst[1] = rangeLimit[(yy+(jfifCbG[cb]+jfifCrG[cr])>>16)&1023]
	dst[2] = rangeLimit[(yy+jfifCbB[cb])&1023]
}

// jfifToRGB converts with libjpeg-turbo's tables but replicated chroma: used
// for YCbCr images handed in directly, whose origin is unknown.
func jfifToRGB(m *image.YCbCr, out *RGBImage) {
	b := m.Rect
	for y := 0; y < out.Height; y++ {
		dst := out.Pix[y*out.Width*3:]
		for x := 0; x < out.Width; x++ {
			yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
			ci := m.COffset(b.Min.X+x, b.Min.Y+y)
			jfifPixel(dst[x*3:], m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	}
}

// chromaLayout describes how one chroma plane maps to full resolution.
type chromaLayout struct {
	hShift, vShift int  // log2 of the horizontal/vertical subsampling
	fancyH, fancyV bool // whether libjpeg-turbo uses its triangle filter
	width, height  int  // samples actually covering the image (downsampled_width/height)
}

func jpegChromaLayout(r image.YCbCrSubsampleRatio, w, h int) chromaLayout {
	var l chromaLayout
	switch r {
	case image.YCbCrSubsampleRatio422:
		l.hShift = 1
	case image.YCbCrSubsampleRatio420:
		l.hShift, l.vShift = 1, 1
	case image.YCbCrSubsampleRatio440:
		l.vShift = 1
	case image.YCbCrSubsampleRatio411:
		l.hShift = 2
	case image.YCbCrSubsampleRatio410:
		l.hShift, l.vShift = 2, 1
	}
	l.width = (w + 1<<l.hShift - 1) >> l.hShift
	l.height = (h + 1<<l.vShift - 1) >> l.vShift
	// jdsample.c: h2v1 and h2v2 use the triangle filter only when the plane
	// is wider than 2 samples; h1v2 always does; other ratios replicate.
	switch {
	case l.hShift == 1 && l.vShift == 0:
		l.fancyH = l.width > 2
	case l.hShift == 1 && l.vShift == 1:
		l.fancyH = l.width > 2
		l.fancyV = l.fancyH
	case l.hShift == 0 && l.vShift == 1:
		l.fancyV = true
	}
	return l
}

// upsampleJPEGChroma writes full-resolution chroma row y (length ≥ width of
// the image) of one plane, following libjpeg-turbo's jdsample.c: the
// vertical triangle weights 3:1 toward the nearer sample row, then the
// horizontal 3:1 toward the nearer column, with its alternating rounding
// biases; edges replicate the outermost sample.
func upsampleJPEGChroma(l chromaLayout, plane []uint8, stride, y int, colsum []int32, out []uint8) {
	cy := y >> l.vShift
	if cy >= l.height {
		cy = l.height - 1
	}
	near := plane[cy*stride : cy*stride+l.width]
	cw := l.width
	if l.fancyV {
		far := cy - 1
		if y&1 == 1 {
			far = cy + 1
		}
		far = max(0, min(far, l.height-1))
		fr := plane[far*stride : far*stride+cw]
		for i := 0; i < cw; i++ {
			colsum[i] = 3*int32(near[i]) + int32(fr[i])
		}
		if !l.fancyH { // h1v2
			bias := int32(1)
			if y&1 == 1 {
				bias = 2
			}
			for i := 0; i < cw; i++ {
				out[i] = uint8((colsum[i] + bias) >> 2)
			}
			return
		}
		// h2v2
		for i := 0; i < cw; i++ {
			c := 3 * colsum[i]
			prev, next := colsum[max(i-1, 0)], colsum[min(i+1, cw-1)]
			out[2*i] = uint8((c + prev + 8) >> 4)
			out[2*i+1] = uint8((c + next + 7) >> 4)
		}
		return
	}
	if l.fancyH { // h2v1
		for i := 0; i < cw; i++ {
			c := 3 * int32(near[i])
			prev, next := int32(near[max(i-1, 0)]), int32(near[min(i+1, cw-1)])
			out[2*i] = uint8((c + prev + 1) >> 2)
			out[2*i+1] = uint8((c + next + 2) >> 2)
		}
		return
	}
	// Replication (also covers 4:4:4 with hShift 0).
	rep := 1 << l.hShift
	for i := 0; i < cw; i++ {
		for k := 0; k < rep; k++ {
			out[i*rep+k] = near[i]
		}
	}
}

// jfifFancyToRGB converts a decoded JPEG's planes to RGB like libjpeg-turbo.
func jfifFancyToRGB(m *image.YCbCr) *RGBImage {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := newRGBImage(w, h)
	l := jpegChromaLayout(m.SubsampleRatio, w, h)
	rowLen := l.width << l.hShift // ≥ w
	_ = parallelRows(context.Background(), h, func(y0, y1 int) {
		colsum := make([]int32, l.width)
		cbRow := make([]uint8, rowLen)
		crRow := make([]uint8, rowLen)
		for y := y0; y < y1; y++ {
			upsampleJPEGChroma(l, m.Cb, m.CStride, y, colsum, cbRow)
			upsampleJPEGChroma(l, m.Cr, m.CStride, y, colsum, crRow)
			ys := m.Y[y*m.YStride : y*m.YStride+w]
			dst := out.Pix[y*w*3 : (y+1)*w*3]
			for x, yv := range ys {
				jfifPixel(dst[x*3:x*3+3], yv, cbRow[x], crRow[x])
			}
		}
	})
	return out
}
