package kernels

import (
	"math"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// The int16-activation matrix-matrix product (prefill's int8 layers under
// decode's act-int16 numerics):
//
//	Y[i, r] = Σ_b f16(W.scale[r,b]) · xs[i,b] · Σ_{c∈b} q[r,c] · xq[i,c]
//
// with X quantized to int16 per 32-value block exactly as Q16Acts
// quantizes a decode step's vector (scale max|x|/32767), so a token
// prefilled in a batch gets the numerics it would get decoded one at a
// time (up to the order the float32 block terms are added). On the
// avx512vnni and avxvnni paths it runs the packed product of matmul.go
// with int16 operands: VPDPWSSD does twice the multiply-adds of a float32
// FMA of the same width, at the same issue rate, and each block's exact
// int32 sum is folded into float32 once (see asmgen/gemmq16.py).
// Elsewhere the int16 kernels of decode take the rows in one pass over W.

// PrefillQ16 reports whether the path has the int16-activation
// matrix-matrix micro-kernel, which makes MatMulQ8Q16 faster than the
// float32 product MatMulQ8 (decoder prefill uses it then, with int16
// activations).
func PrefillQ16() bool { return gemmQ16NR() > 0 }

// MatMulQ8Q16MinRows is the fewest rows MatMulQ8Q16 runs as a packed
// product; with fewer (or without the micro-kernel) it quantizes them
// into a Q16Acts of its own, which a caller that keeps one avoids by
// calling MatVecQ8Q16 itself.
func MatMulQ8Q16MinRows() int {
	if nr := gemmQ16NR(); nr > 0 {
		return nr / 2
	}
	return math.MaxInt
}

// MatMulQ8Q16 computes Y[n, rows] = X[n, cols]·Wᵀ with X quantized to
// int16 per block (the formula above): on paths with the int16
// micro-kernel by the packed product, else as n quantized vectors through
// the int8×int16 matrix-vector kernels.
func (p *Pool) MatMulQ8Q16(y []float32, w *quant.Matrix, x []float32, n int) {
	checkQ8(y, w, x, n)
	if n == 0 {
		return
	}
	if n < MatMulQ8Q16MinRows() {
		var a Q16Acts
		a.Quantize(x, n, w.Cols)
		p.MatVecQ8Q16(y, w, &a)
		return
	}
	matMul(p, &matMulTask{y: y, wq: w, rows: w.Rows, cols: w.Cols, x: x, n: n, q16: true})
}

// q16Words is what one quantized X row takes in the packed panels, in
// 32-bit words: its column pairs (cols rounded up to whole blocks, two
// int16 a word) and its block scales.
func (t *matMulTask) q16Words() (pairs, bpr int) {
	bpr = quant.BlocksPerRow(t.cols)
	return bpr * quant.BlockSize / 2, bpr
}

// packPanelsQ16 quantizes and packs X panels [lo, hi): panel p's rows
// pairs by column pair ([pairs][wp] dwords of two int16) and their block
// scales ([bpr][wp]); rows past n are zero. scratch holds one panel's
// quantized rows.
func (t *matMulTask) packPanelsQ16(scratch []float32, lo, hi int) {
	pairs, bpr := t.q16Words()
	stride := 2 * pairs
	for p := lo; p < hi; p++ {
		i0 := p * t.nr
		wp := t.panelWidth(p)
		valid := min(wp, t.n-i0)
		qrows := asInt16(scratch[:valid*pairs])
		srows := scratch[valid*pairs : valid*(pairs+bpr)]
		for i := range valid {
			x := t.x[(i0+i)*t.cols : (i0+i+1)*t.cols]
			quantizeAct16(qrows[i*stride:(i+1)*stride], srows[i*bpr:(i+1)*bpr], x)
		}
		dq := t.xq[i0*pairs : (i0+wp)*pairs]
		ds := t.xs[i0*bpr : (i0+wp)*bpr]
		// A pair of int16 is moved as one 32-bit word: the float32
		// transpose copies bits.
		transposeF32(asFloat32(dq), wp, scratch[:valid*pairs], pairs, valid, pairs)
		transposeF32(ds, wp, srows, bpr, valid, bpr)
		if valid < wp {
			for k := 0; k < pairs; k++ {
				clear(dq[k*wp+valid : (k+1)*wp])
			}
			for b := 0; b < bpr; b++ {
				clear(ds[b*wp+valid : (b+1)*wp])
			}
		}
	}
}

// gemmQ16Panel is the per-thread scratch (in float32 words) an int16
// product's block needs beside its Yᵀ tile: the widened weights (gemmMC
// rows of gemmKC int16) and their scales (gemmKC/32 blocks × gemmMC).
const gemmQ16Panel = gemmMC*gemmKC/2 + gemmKC/quant.BlockSize*gemmMC

// widenBlockQ16 widens weight rows [j0, j1), padded columns [kb, ke), to
// int16 rows gemmKC apart in wp and their block scales to float32 in sp
// (sp[b·gemmMC + r]); columns past cols, and rows from j1 up to the next
// multiple of gemmMR, are zero.
func (t *matMulTask) widenBlockQ16(wp []int16, sp []float32, j0, j1, kb, ke int) {
	w := t.wq
	bpr := w.BlocksPerRow()
	full := (min(ke, w.Cols) - kb) / quant.BlockSize // whole blocks inside cols
	if full > 0 {
		_, _ = wp[(j1-1-j0)*gemmKC+full*quant.BlockSize-1], w.Q[(j1-1)*w.Cols+kb+full*quant.BlockSize-1]
		_, _ = sp[(full-1)*gemmMC+j1-1-j0], w.Scales[(j1-1)*bpr+kb/quant.BlockSize+full-1]
		widenQ8Asm(&wp[0], gemmKC, &w.Q[j0*w.Cols+kb], w.Cols,
			&w.Scales[j0*bpr+kb/quant.BlockSize], bpr, &sp[0], j1-j0, full, gemmKC)
	}
	if b := kb/quant.BlockSize + full; b*quant.BlockSize < ke { // the short last block
		c0, c1 := b*quant.BlockSize, w.Cols
		for j := j0; j < j1; j++ {
			row := wp[(j-j0)*gemmKC+c0-kb : (j-j0)*gemmKC+ke-kb]
			clear(row)
			for c, v := range w.Q[j*w.Cols+c0 : j*w.Cols+c1] {
				row[c] = int16(v)
			}
			sp[(b-kb/quant.BlockSize)*gemmMC+j-j0] = f16.ToF32(w.Scales[j*bpr+b])
		}
	}
	blocks := (ke - kb) / quant.BlockSize
	for j := j1 - j0; j < (j1-j0+gemmMR-1)/gemmMR*gemmMR; j++ {
		clear(wp[j*gemmKC : j*gemmKC+ke-kb])
		for b := range blocks {
			sp[b*gemmMC+j] = 0
		}
	}
}

// gemmBlockQ16 is gemmBlock for the int16 product.
func (t *matMulTask) gemmBlockQ16(cbuf, scratch []float32, j0, j1, p0, p1 int) {
	pairs, bpr := t.q16Words()
	stride := 2 * pairs
	npad, nr := t.npad, t.nr
	lo, hi := p0*nr, (p1-1)*nr+t.panelWidth(p1-1)
	for r := range min(gemmMC, (j1-j0+gemmMR-1)/gemmMR*gemmMR) {
		clear(cbuf[r*npad+lo : r*npad+hi])
	}
	wp := asInt16(scratch[:gemmMC*gemmKC/2])
	sp := scratch[gemmMC*gemmKC/2:]
	for kb := 0; kb < stride; kb += gemmKC {
		ke := min(kb+gemmKC, stride)
		t.widenBlockQ16(wp, sp, j0, j1, kb, ke)
		blocks := (ke - kb) / quant.BlockSize
		for p := p0; p < p1; p++ {
			i0 := p * nr
			w := t.panelWidth(p)
			xq := &t.xq[i0*pairs+kb/2*w]
			xs := &t.xs[i0*bpr+kb/quant.BlockSize*w]
			for g := j0; g < j1; g += gemmMR {
				gemmQ16Tile(&cbuf[(g-j0)*npad+i0], npad, &wp[(g-j0)*gemmKC], gemmKC, &sp[g-j0], xq, xs, blocks, w == nr)
			}
		}
	}
	hi = min(hi, t.n)
	transposeF32(t.y[lo*t.rows+j0:], t.rows, cbuf[lo:], npad, j1-j0, hi-lo)
}

// asInt16, asUint32 and asFloat32 view a buffer's words in another type
// (the pool's scratch is float32; the int16 product keeps int16 and pairs
// of int16 in it).
func asInt16(f []float32) []int16 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(&f[0])), 2*len(f))
}

func asUint32(f []float32) []uint32 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&f[0])), len(f))
}

func asFloat32(u []uint32) []float32 {
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&u[0])), len(u))
}
