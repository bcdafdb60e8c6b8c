package vision

import (
	"context"
	"math"
	"runtime"
	"sync"
)

// This file ports the math of Pillow's BICUBIC resize for 8-bit images
// (libImaging/Resample.c, Pillow 9.4): the reference preprocessing runs
// img.resize((448, 448), Image.BICUBIC), and only a faithful port reproduces
// its output bit for bit. What matters:
//   - Keys cubic kernel, a = -0.5, support 2, stretched by the downscale
//     factor (antialiasing) but never shrunk when upscaling;
//   - separable: a horizontal pass, then a vertical pass; a pass whose size
//     is unchanged is skipped;
//   - weights normalized in float64, then fixed point with 22 fraction bits;
//     each pass rounds and clamps to uint8, so the image between the passes
//     is 8-bit (this clips overshoot at sharp edges before the second pass).
// All float64 arithmetic carries explicit float64() conversions around
// products that would otherwise be eligible for fused multiply-add: Go may
// fuse a*b+c (arm64, amd64 v3), Pillow's reference build did not, and one
// rounding difference flips a weight's last bit.

// precisionBits is Pillow's PRECISION_BITS: 32 - 8 bits of result - 2 bits
// of headroom for kernels whose partial sums exceed 1.
const precisionBits = 32 - 8 - 2

// bicubicSupport is the half-width of the Keys kernel in input pixels.
const bicubicSupport = 2.0

// bicubic is the Keys cubic convolution kernel with a = -0.5.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64(float64((a+2)*x) - (a + 3))
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64(float64((x-5)*x) + 8)
		return float64(float64(t*x)-4) * a
	}
	return 0
}

// resampleWeights holds, for each output index, the first input index and
// the fixed-point weights of its taps.
type resampleWeights struct {
	first []int32 // first input index per output index
	count []int32 // number of taps per output index
	taps  int     // stride of coeff per output index
	coeff []int32 // fixed-point weights, taps per output index
}

// computeWeights mirrors Pillow's precompute_coeffs + normalize_coeffs_8bpc
// for resizing inSize samples to outSize.
func computeWeights(inSize, outSize int) resampleWeights {
	// Pillow computes the box width in single precision (float in0, in1);
	// exact for every size below 2^24.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := bicubicSupport * filterscale
	taps := int(math.Ceil(support))*2 + 1
	w := resampleWeights{
		first: make([]int32, outSize),
		count: make([]int32, outSize),
		taps:  taps,
		coeff: make([]int32, outSize*taps),
	}
	ss := 1.0 / filterscale
	k := make([]float64, taps)
	for xx := 0; xx < outSize; xx++ {
		center := float64(float64(xx)+0.5) * scale
		xmin := int(center - support + 0.5) // C (int): truncation toward zero
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		if xmax > taps { // cannot happen by construction; keeps indexing safe
			xmax = taps
		}
		sum := 0.0
		for x := 0; x < xmax; x++ {
			v := bicubic(float64(float64(float64(x+xmin)-center)+0.5) * ss)
			k[x] = v
			sum += v
		}
		c := w.coeff[xx*taps : xx*taps+taps]
		for x := 0; x < xmax; x++ {
			v := k[x]
			if sum != 0 {
				v /= sum
			}
			scaled := float64(v * (1 << precisionBits))
			if v < 0 {
				c[x] = int32(scaled - 0.5)
			} else {
				c[x] = int32(scaled + 0.5)
			}
		}
		w.first[xx] = int32(xmin)
		w.count[xx] = int32(xmax)
	}
	return w
}

// clip8 turns an accumulator into a uint8 as Pillow's clip8 does: an
// arithmetic shift by the precision, then a clamp to 0..255.
func clip8(acc int32) uint8 {
	v := acc >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resizeBicubic resizes src to outW×outH exactly as Pillow's
// Image.resize((outW, outH), Image.BICUBIC) on an RGB image. It returns src
// itself when the size is unchanged (Pillow returns an exact copy).
func resizeBicubic(ctx context.Context, src *RGBImage, outW, outH int) (*RGBImage, error) {
	if src.Width == outW && src.Height == outH {
		return src, nil
	}
	cur := src
	vert := computeWeights(src.Height, outH)
	if src.Width != outW {
		// Only the input rows some output row reads are resampled
		// horizontally, as Pillow does (ybox_first..ybox_last).
		rowFirst, rowLast := 0, src.Height
		if src.Height != outH {
			rowFirst = int(vert.first[0])
			rowLast = int(vert.first[outH-1] + vert.count[outH-1])
			for i := range vert.first {
				vert.first[i] -= int32(rowFirst)
			}
		}
		tmp := newRGBImage(outW, rowLast-rowFirst)
		hw := computeWeights(src.Width, outW)
		err := parallelRows(ctx, tmp.Height, func(y0, y1 int) {
			horizontalPass(tmp, src, rowFirst, &hw, y0, y1)
		})
		if err != nil {
			return nil, err
		}
		cur = tmp
	}
	if cur.Height == outH {
		return cur, nil
	}
	out := newRGBImage(outW, outH)
	err := parallelRows(ctx, outH, func(y0, y1 int) {
		verticalPass(out, cur, &vert, y0, y1)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// horizontalPass fills rows y0..y1 of dst from rows y0+offset.. of src.
func horizontalPass(dst, src *RGBImage, offset int, w *resampleWeights, y0, y1 int) {
	for y := y0; y < y1; y++ {
		in := src.Pix[(y+offset)*src.Width*3 : (y+offset+1)*src.Width*3]
		out := dst.Pix[y*dst.Width*3 : (y+1)*dst.Width*3]
		for xx := 0; xx < dst.Width; xx++ {
			n := int(w.count[xx])
			k := w.coeff[xx*w.taps : xx*w.taps+n]
			p := in[int(w.first[xx])*3 : (int(w.first[xx])+n)*3]
			const half = 1 << (precisionBits - 1)
			r, g, b := int32(half), int32(half), int32(half)
			// Walking p by re-slicing lets the compiler drop the bounds
			// checks of the three loads: this loop is most of the time.
			for _, c := range k {
				if len(p) < 3 {
					break
				}
				r += int32(p[0]) * c
				g += int32(p[1]) * c
				b += int32(p[2]) * c
				p = p[3:]
			}
			o := out[xx*3 : xx*3+3 : xx*3+3]
			o[0], o[1], o[2] = clip8(r), clip8(g), clip8(b)
		}
	}
}

// verticalPass fills rows y0..y1 of dst; each output row is a weighted sum
// of whole input rows, computed row by row for sequential memory access.
func verticalPass(dst, src *RGBImage, w *resampleWeights, y0, y1 int) {
	rowLen := dst.Width * 3
	acc := make([]int32, rowLen)
	for y := y0; y < y1; y++ {
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		n := int(w.count[y])
		first := int(w.first[y])
		for i, c := range w.coeff[y*w.taps : y*w.taps+n] {
			row := src.Pix[(first+i)*rowLen : (first+i+1)*rowLen]
			for j, v := range row {
				acc[j] += int32(v) * c
			}
		}
		out := dst.Pix[y*rowLen : (y+1)*rowLen]
		for j, a := range acc {
			out[j] = clip8(a)
		}
	}
}

// parallelRows splits n rows into contiguous bands, one per CPU, and runs fn
// on each. The bands are independent, so the result does not depend on the
// split. It checks ctx before starting.
func parallelRows(ctx context.Context, n int, fn func(y0, y1 int)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > n/16 {
		workers = n / 16
	}
	if workers <= 1 {
		fn(0, n)
		return ctx.Err()
	}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		y0, y1 := n*i/workers, n*(i+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(y0, y1)
		}()
	}
	wg.Wait()
	return ctx.Err()
}
