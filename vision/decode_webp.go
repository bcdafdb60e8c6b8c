package vision

import (
	"context"
	"image"
)

// Lossy WebP stores VP8 YUV 4:2:0 in the limited ("studio") range of
// BT.601. x/image/webp returns those planes as an image.YCbCr, whose At
// method would apply the full-range JPEG formula — visibly wrong contrast
// (a mean error of ~7 levels against Pillow). libwebp, which Pillow uses,
// upsamples chroma with a bilinear "fancy" filter between row pairs and
// converts with 14-bit fixed-point constants; that is reproduced here.

// webpToRGB converts a decoded WebP to RGB as libwebp + Pillow would.
func webpToRGB(img image.Image) (*RGBImage, error) {
	switch m := img.(type) {
	case *image.YCbCr:
		if m.SubsampleRatio == image.YCbCrSubsampleRatio420 && m.Rect.Min == (image.Point{}) {
			return vp8FancyToRGB(m), nil
		}
	case *image.NYCbCrA: // lossy with alpha: alpha is dropped by convert("RGB")
		if m.SubsampleRatio == image.YCbCrSubsampleRatio420 && m.Rect.Min == (image.Point{}) {
			return vp8FancyToRGB(&m.YCbCr), nil
		}
	}
	return toRGB(img) // lossless WebP decodes to straight NRGBA
}

// vp8MulHi emulates the 16-bit high multiply of libwebp's YUV→RGB.
func vp8MulHi(v, coeff int32) int32 { return (v * coeff) >> 8 }

// vp8Clip8 turns a 6-bit fixed-point value into a clamped byte.
func vp8Clip8(v int32) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func vp8Pixel(dst []uint8, y, u, v int32) {
	yy := vp8MulHi(y, 19077)
	dst[0] = vp8Clip8(yy + vp8MulHi(v, 26149) - 14234)
	dst[1] = vp8Clip8(yy - vp8MulHi(u, 6419) - vp8MulHi(v, 13320) + 8708)
	dst[2] = vp8Clip8(yy + vp8MulHi(u, 33050) - 17685)
}

// vp8FancyToRGB follows libwebp's UpsampleRgbLinePair: output row 0 uses
// chroma row 0 alone; rows 2k+1 and 2k+2 are produced together from chroma
// rows k (top) and k+1 (bottom), each pixel weighting its four neighbouring
// chroma samples 9:3:3:1 (computed through libwebp's two-step averages to
// keep its exact rounding); the last row of an even-height image uses the
// last chroma row alone.
func vp8FancyToRGB(m *image.YCbCr) *RGBImage {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := newRGBImage(w, h)
	ch := (h + 1) / 2
	// Row pairs are independent, so bands of pairs run in parallel. Pair
	// index p covers rows 2p-1 and 2p (row 0 alone for p = 0).
	pairs := h/2 + 1
	_ = parallelRows(context.Background(), pairs, func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			top, bot := 2*p-1, 2*p
			tk, bk := p-1, p
			switch {
			case p == 0: // first row, replicated top samples
				top, bot, tk, bk = 0, -1, 0, 0
			case bot >= h: // last row of an even-height image
				bot, bk = -1, tk
			}
			if bk >= ch {
				bk = ch - 1
			}
			vp8RowPair(m, out, w, top, bot, tk, bk)
		}
	})
	return out
}

func vp8RowPair(m *image.YCbCr, out *RGBImage, w, top, bot, tk, bk int) {
	tu, tv := m.Cb[tk*m.CStride:], m.Cr[tk*m.CStride:]
	cu, cv := m.Cb[bk*m.CStride:], m.Cr[bk*m.CStride:]
	ty := m.Y[top*m.YStride:]
	tdst := out.Pix[top*w*3:]
	var by, bdst []uint8
	if bot >= 0 {
		by = m.Y[bot*m.YStride:]
		bdst = out.Pix[bot*w*3:]
	}
	emit := func(row, dst []uint8, x int, u, v int32) {
		vp8Pixel(dst[x*3:x*3+3], int32(row[x]), u, v)
	}
	tlU, tlV := int32(tu[0]), int32(tv[0])
	lU, lV := int32(cu[0]), int32(cv[0])
	emit(ty, tdst, 0, (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2)
	if bot >= 0 {
		emit(by, bdst, 0, (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2)
	}
	last := (w - 1) >> 1
	for x := 1; x <= last; x++ {
		tU, tV := int32(tu[x]), int32(tv[x])
		U, V := int32(cu[x]), int32(cv[x])
		avgU := tlU + tU + lU + U + 8
		avgV := tlV + tV + lV + V + 8
		d12U, d12V := (avgU+2*(tU+lU))>>3, (avgV+2*(tV+lV))>>3
		d03U, d03V := (avgU+2*(tlU+U))>>3, (avgV+2*(tlV+V))>>3
		emit(ty, tdst, 2*x-1, (d12U+tlU)>>1, (d12V+tlV)>>1)
		emit(ty, tdst, 2*x, (d03U+tU)>>1, (d03V+tV)>>1)
		if bot >= 0 {
			emit(by, bdst, 2*x-1, (d03U+lU)>>1, (d03V+lV)>>1)
			emit(by, bdst, 2*x, (d12U+U)>>1, (d12V+V)>>1)
		}
		tlU, tlV, lU, lV = tU, tV, U, V
	}
	if w&1 == 0 {
		emit(ty, tdst, w-1, (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2)
		if bot >= 0 {
			emit(by, bdst, w-1, (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2)
		}
	}
}
