package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// Matrix-matrix products (prefill and the vision tower): Y[n, rows] =
// X[n, cols]·Wᵀ. Three implementations: the weight-panel product
// (wpanel.go) for float32 weights whose rows are whole panels (the vision
// tower); the packed product (gemm*, below) for the others and for int8
// weights, both on paths with a gemm micro-kernel (amd64 avx512 and avx2,
// arm64 neon) for n of at least half a panel; and the dot-product tiles,
// everywhere else (pure Go, and a handful of rows).
//
// The tiles: work is split by weight rows in blocks of rowBlock; within a
// block, the columns are walked kBlock at a time so the block's weights
// (rowBlock × kBlock floats) stay in L2 while every group of four X rows
// (in L1) is multiplied against them by the 4×3 micro-kernel. Int8 weights
// are first widened into a per-thread float32 panel, once per block, so the
// widening cost is shared by all n rows of X.
const (
	rowBlock = 48  // weight rows per block: a multiple of the kernel's 3
	kBlock   = 512 // columns per pass: a multiple of quant.BlockSize
)

type matMulTask struct {
	y          []float32
	wf         []float32     // float32 weights, or nil
	wq         *quant.Matrix // int8 weights, or nil
	rows, cols int
	x          []float32
	n          int
	pool       *Pool // owner of the per-thread panels; nil when run inline

	// The packed product (gemm*): X packed in panels of nr rows, npad
	// lanes in all (n rounded up to the panels' widths).
	xp       []float32
	nr, npad int
	pgroup   int // panels per work item (see items)

	// The int16-activation product (matmulq16.go): X quantized and packed
	// by column pairs (xq) with its block scales (xs), in place of xp.
	q16 bool
	xq  []uint32
	xs  []float32

	// matMulT (attention) only: weight rows ws floats apart (0: cols); X
	// given transposed (xt[k·xts + i]); Y written untransposed, y[j·ys + i].
	ws      int
	xt      []float32
	xts, ys int
}

// scratch is n floats of per-thread scratch: the pool's buffer for slot,
// or a new one when the product runs inline without a pool.
func (t *matMulTask) scratch(slot, n int) []float32 {
	if t.pool != nil {
		return t.pool.scratchFor(slot, n)
	}
	return make([]float32, n)
}

func (t *matMulTask) run(slot, lo, hi int) {
	var panel []float32
	if t.wq != nil {
		panel = t.scratch(slot, rowBlock*kBlock)
	}
	for j0 := lo; j0 < hi; j0 += rowBlock {
		t.block(panel, j0, min(j0+rowBlock, hi))
	}
}

// block computes output columns [j0, j1) for all n rows.
func (t *matMulTask) block(panel []float32, j0, j1 int) {
	var (
		out    [12]float32
		xs     [4][]float32
		ws     [3][]float32
		cols   = t.cols
		rows   = t.rows
		n      = t.n
		stride = cols // distance between weight rows in wsrc
		wsrc   = t.wf
		wbase  = j0 * cols
	)
	for kb := 0; kb < cols; kb += kBlock {
		ke := min(kb+kBlock, cols)
		k := ke - kb
		off := kb // column offset of this pass inside wsrc rows
		if t.wq != nil {
			for j := j0; j < j1; j++ {
				dequantRange(panel[(j-j0)*kBlock:], t.wq, j, kb, ke)
			}
			wsrc, stride, wbase, off = panel, kBlock, 0, 0
		}
		for i := 0; i < n; i += 4 {
			// Rows past the end repeat the last row; their sums are dropped.
			for a := range xs {
				r := min(i+a, n-1)
				xs[a] = t.x[r*cols+kb : r*cols+ke]
			}
			na := min(4, n-i)
			for j := j0; j < j1; j += 3 {
				for b := range ws {
					p := wbase + (min(j+b, j1-1)-j0)*stride + off
					ws[b] = wsrc[p : p+k]
				}
				dotTile(&out, &xs, &ws, k)
				nb := min(3, j1-j)
				for a := 0; a < na; a++ {
					yr := t.y[(i+a)*rows+j : (i+a)*rows+j+nb]
					for b := range yr {
						if kb == 0 {
							yr[b] = out[b*4+a]
						} else {
							yr[b] += out[b*4+a]
						}
					}
				}
			}
		}
	}
}

// dotTile sets out[j*4+i] = Σ_{c<k} x[i][c]·w[j][c].
func dotTile(out *[12]float32, x *[4][]float32, w *[3][]float32, k int) {
	if !haveAsm {
		goDot4x3(out, x, w, k)
		return
	}
	k8 := k &^ 7
	if k8 == 0 {
		goDot4x3(out, x, w, k)
		return
	}
	xp := [4]*float32{&x[0][0], &x[1][0], &x[2][0], &x[3][0]}
	wp := [3]*float32{&w[0][0], &w[1][0], &w[2][0]}
	dot4x3Asm(out, &xp, &wp, k8)
	for c := k8; c < k; c++ {
		for j := range 3 {
			for i := range 4 {
				out[j*4+i] += x[i][c] * w[j][c]
			}
		}
	}
}

// dequantRange widens row r's columns [kb, ke) into dst; kb is a block start.
func dequantRange(dst []float32, w *quant.Matrix, r, kb, ke int) {
	bpr := w.BlocksPerRow()
	q := w.Q[r*w.Cols+kb : r*w.Cols+ke]
	s := w.Scales[r*bpr+kb/quant.BlockSize : r*bpr+(ke+quant.BlockSize-1)/quant.BlockSize]
	full := 0
	if haveAsm {
		full = len(q) / quant.BlockSize
		if full > 0 {
			dequantQ8Blocks(&dst[0], &q[0], &s[0], full)
		}
	}
	done := full * quant.BlockSize
	goDequantQ8(dst[done:len(q)], q[done:], s[full:])
}

// gemmOff makes the products run the dot-product tiles on every path (for
// the benchmarks' A/B comparison; set only while no product runs).
var gemmOff bool

func matMul(pool *Pool, t *matMulTask) {
	nr := gemmNR()
	// matMulT's layouts (xt set) exist only on the packed product, and
	// the int16 product only as one (MatMulQ8Q16 checked n).
	gemm := nr > 0 && (t.xt != nil || t.n >= nr/2 && !gemmOff)
	if t.q16 {
		nr, gemm = gemmQ16NR(), true
	}
	if !pool.acquire() {
		t.pool = nil
		if gemm {
			t.setPanels(nr, nil)
			(&packTask{t}).run(0, 0, t.panels())
			t.gemmRun(0, 0, t.items(1))
			return
		}
		t.run(0, 0, t.rows)
		return
	}
	p := &pool.tasks.matMul
	*p = *t
	p.pool = pool
	small := t.n*t.rows*t.cols < parallelMin
	switch {
	case gemm:
		p.setPanels(nr, &pool.tasks.xp)
		pk := &pool.tasks.pack
		pk.t = p
		if small {
			pk.run(0, 0, p.panels())
			p.gemmRun(0, 0, p.items(1))
		} else {
			pool.run(pk, p.panels(), 1)
			pool.run(gemmTask{p}, p.items(pool.Threads()), 1)
		}
		*pk = packTask{}
	case small:
		p.run(0, 0, t.rows)
	default:
		pool.run(p, t.rows, rowBlock)
	}
	*p = matMulTask{}
	pool.release()
}

// The packed product (on paths with a gemm micro-kernel, for n of at
// least half a panel). Y = X·Wᵀ is computed as its transpose Yᵀ = W·Xᵀ:
//
//   - X is packed once per call into panels of nr rows, k-major (panel p
//     holds Xp[k][i] = X[p·nr+i][k]), so one vector load takes the next
//     column of nr rows. The copy costs n·cols moves against the product's
//     n·cols·rows FMAs.
//   - W is read along its rows, one broadcast per weight: float32 weights
//     need no packing at all, int8 ones are widened gemmMC rows × gemmKC
//     columns at a time (once per block, shared by all n rows of X).
//   - Work is split by blocks of gemmMC weight rows. A block accumulates
//     its Yᵀ rows in a per-thread buffer (gemmMC × npad floats, zeroed
//     first) and transposes it into Y at the end, once per output.
//   - Columns are walked gemmKC at a time; within a pass, each X panel's
//     slice (nr × gemmKC floats, 32 KiB for AVX-512) stays in L1 while the
//     block's gemmMC/gemmMR tiles run over it, and the block's weights
//     (gemmMC × gemmKC) stay in L2 while all the panels stream past.
const (
	gemmMR = 6   // weight rows per micro-tile (the kernels' 6)
	gemmMC = 48  // weight rows per block: a multiple of gemmMR
	gemmKC = 256 // columns per pass: a multiple of the chunks (16, 32) and of quant.BlockSize
)

// setPanels sizes the packed panels for panel width nr and points the
// packed X at a buffer of the right size (grown in *buf, or allocated
// when buf is nil): xp for the float32 product, xq and xs for the int16
// one (q16Words).
func (t *matMulTask) setPanels(nr int, buf *[]float32) {
	t.nr = nr
	np := (t.n + nr - 1) / nr
	t.npad = (np-1)*nr + t.panelWidth(np-1)
	words, pairs := t.cols, 0
	if t.q16 {
		var bpr int
		pairs, bpr = t.q16Words()
		words = pairs + bpr
	}
	var b []float32
	if buf == nil {
		b = make([]float32, t.npad*words)
	} else {
		*buf = grow(*buf, t.npad*words)
		b = *buf
	}
	if !t.q16 {
		t.xp = b
		return
	}
	t.xq, t.xs = asUint32(b[:t.npad*pairs]), b[t.npad*pairs:]
}

func (t *matMulTask) panels() int { return (t.n + t.nr - 1) / t.nr }

// panelWidth is nr, or nr/2 for a last panel that has at most nr/2 rows
// (the half-width kernel then wastes less).
func (t *matMulTask) panelWidth(p int) int {
	if t.n-p*t.nr <= t.nr/2 {
		return t.nr / 2
	}
	return t.nr
}

// packPanels packs X panels [lo, hi); rows past n are zero.
func (t *matMulTask) packPanels(lo, hi int) {
	cols := t.cols
	for p := lo; p < hi; p++ {
		i0 := p * t.nr
		wp := t.panelWidth(p)
		dst := t.xp[i0*cols : (i0+wp)*cols]
		valid := min(wp, t.n-i0)
		if t.xt != nil {
			// Already k-major: each column's stretch of rows is one copy.
			for k := 0; k < cols; k++ {
				copy(dst[k*wp:k*wp+valid], t.xt[k*t.xts+i0:k*t.xts+i0+valid])
			}
		} else {
			transposeF32(dst, wp, t.x[i0*cols:], cols, valid, cols)
		}
		if valid < wp {
			for k := 0; k < cols; k++ {
				clear(dst[k*wp+valid : (k+1)*wp])
			}
		}
	}
}

// transposeF32 writes dst[c·ds + r] = src[r·ss + c] for r < rows, c < cols.
func transposeF32(dst []float32, ds int, src []float32, ss int, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	_, _ = src[(rows-1)*ss+cols-1], dst[(cols-1)*ds+rows-1]
	r8, c8 := 0, 0
	if gemmNR() > 0 && rows >= 8 && cols >= 8 {
		r8, c8 = rows&^7, cols&^7
		transposeAsm(&dst[0], ds, &src[0], ss, r8, c8)
	}
	for r := 0; r < rows; r++ {
		c0 := c8
		if r >= r8 {
			c0 = 0
		}
		for c, v := range src[r*ss+c0 : r*ss+cols] {
			dst[(c0+c)*ds+r] = v
		}
	}
}

// packTask runs packPanels (or packPanelsQ16) on the pool.
type packTask struct{ t *matMulTask }

func (p *packTask) run(slot, lo, hi int) {
	t := p.t
	if !t.q16 {
		t.packPanels(lo, hi)
		return
	}
	pairs, bpr := t.q16Words()
	t.packPanelsQ16(t.scratch(slot, t.nr*(pairs+bpr)), lo, hi)
}

// gemmTask runs the packed product on the pool, by weight rows.
type gemmTask struct{ t *matMulTask }

func (g gemmTask) run(slot, lo, hi int) { g.t.gemmRun(slot, lo, hi) }

// items sets how the product splits into work items for threads threads
// and returns their number: blocks of gemmMC weight rows, each over all X
// panels or, when there are too few blocks to keep the threads evenly busy
// (attention's P·V has 64 rows), over groups of pgroup panels.
func (t *matMulTask) items(threads int) int {
	blocks := (t.rows + gemmMC - 1) / gemmMC
	np := t.panels()
	t.pgroup = np
	if want := 4 * threads; threads > 1 && blocks < want {
		groups := min(np, (want+blocks-1)/blocks)
		t.pgroup = (np + groups - 1) / groups
	}
	return blocks * ((np + t.pgroup - 1) / t.pgroup)
}

func (t *matMulTask) gemmRun(slot, lo, hi int) {
	cn := gemmMC * t.npad
	size := cn
	switch {
	case t.q16:
		size += gemmQ16Panel
	case t.wq != nil:
		size += gemmMC * gemmKC
	}
	buf := t.scratch(slot, size)
	np := t.panels()
	groups := (np + t.pgroup - 1) / t.pgroup
	for it := lo; it < hi; it++ {
		j0, p0 := it/groups*gemmMC, it%groups*t.pgroup
		if t.q16 {
			t.gemmBlockQ16(buf[:cn], buf[cn:], j0, min(j0+gemmMC, t.rows), p0, min(p0+t.pgroup, np))
			continue
		}
		t.gemmBlock(buf[:cn], buf[cn:], j0, min(j0+gemmMC, t.rows), p0, min(p0+t.pgroup, np))
	}
}

// dequantBlock widens weight rows [j0, j1), columns [kb, ke) into panel
// (rows gemmKC apart), prefetching the next pass's columns.
func (t *matMulTask) dequantBlock(panel []float32, j0, j1, kb, ke int) {
	w := t.wq
	full := (ke - kb) / quant.BlockSize
	if full > 0 {
		bpr := w.BlocksPerRow()
		last := (j1-1-j0)*gemmKC + full*quant.BlockSize - 1
		_, _ = panel[last], w.Q[(j1-1)*w.Cols+kb+full*quant.BlockSize-1]
		_ = w.Scales[(j1-1)*bpr+kb/quant.BlockSize+full-1]
		dequantRowsAsm(&panel[0], gemmKC, &w.Q[j0*w.Cols+kb], w.Cols,
			&w.Scales[j0*bpr+kb/quant.BlockSize], bpr, j1-j0, full, gemmKC)
	}
	if done := kb + full*quant.BlockSize; done < ke {
		for j := j0; j < j1; j++ {
			dequantRange(panel[(j-j0)*gemmKC+done-kb:], w, j, done, ke)
		}
	}
}

// gemmBlock computes output columns [j0, j1) (≤ gemmMC) for the X rows
// of panels [p0, p1).
func (t *matMulTask) gemmBlock(cbuf, panel []float32, j0, j1, p0, p1 int) {
	cols, npad, nr := t.cols, t.npad, t.nr
	lo, hi := p0*nr, (p1-1)*nr+t.panelWidth(p1-1) // the panels' lanes
	// Tiles of the last group repeat row j1-1 into cbuf rows past j1-j0
	// (still inside cbuf, which holds gemmMC rows); those are dropped.
	for r := range min(gemmMC, (j1-j0+gemmMR-1)/gemmMR*gemmMR) {
		clear(cbuf[r*npad+lo : r*npad+hi])
	}
	// Chunk lengths keep the rounding depth within the tests' bounds
	// (fastF32Depth, q8Depth in kernels_test.go).
	chunk := 32
	if t.wq == nil && cols < 128 {
		chunk = 16
	}
	var w [gemmMR]*float32
	ws := cols
	if t.ws != 0 {
		ws = t.ws
	}
	for kb := 0; kb < cols; kb += gemmKC {
		ke := min(kb+gemmKC, cols)
		if t.wq != nil {
			t.dequantBlock(panel, j0, j1, kb, ke)
		}
		for p := p0; p < p1; p++ {
			i0 := p * nr
			wp := t.panelWidth(p)
			xp := &t.xp[i0*cols+kb*wp]
			for g := j0; g < j1; g += gemmMR {
				for a := range w {
					j := min(g+a, j1-1)
					if t.wq != nil {
						w[a] = &panel[(j-j0)*gemmKC]
					} else {
						w[a] = &t.wf[j*ws+kb]
					}
				}
				gemmTile(&cbuf[(g-j0)*npad+i0], npad, &w, xp, ke-kb, chunk, wp == nr)
			}
		}
	}
	hi = min(hi, t.n)
	if t.xt != nil {
		for j := j0; j < j1; j++ {
			copy(t.y[j*t.ys+lo:j*t.ys+hi], cbuf[(j-j0)*npad+lo:(j-j0)*npad+hi])
		}
		return
	}
	transposeF32(t.y[lo*t.rows+j0:], t.rows, cbuf[lo:], npad, j1-j0, hi-lo)
}

// matMulT computes y[j·ys + i] = Σ_k w[j·ws + k]·xt[k·xts + i] for j <
// rows, i < n, k < cols: the packed product with X given transposed and Y
// written untransposed, so neither needs a transpose (attention's Q·Kᵀ
// with the queries as weight rows and P·V with the probabilities as weight
// rows, both read in place). Only on paths with a gemm micro-kernel
// (gemmNR() > 0).
func (p *Pool) matMulT(y []float32, ys int, w []float32, ws, rows, cols int, xt []float32, xts, n int) {
	if rows <= 0 || cols <= 0 || n <= 0 {
		return
	}
	_, _, _ = y[(rows-1)*ys+n-1], w[(rows-1)*ws+cols-1], xt[(cols-1)*xts+n-1]
	t := &matMulTask{y: y, ys: ys, wf: w, ws: ws, rows: rows, cols: cols, xt: xt, xts: xts, n: n}
	matMul(p, t)
}

// taskArgs holds one argument struct per parallel kernel, owned by the
// pool and reused under its lock, so a call allocates nothing.
type taskArgs struct {
	matVecQ8  matVecQ8Task
	matVecF32 matVecF32Task
	matMul    matMulTask
	wpanel    wpanelTask
	pack      packTask
	rows      rowsTask
	xp        []float32 // packed X of the current product, grown on demand
	attention attentionTask
}
