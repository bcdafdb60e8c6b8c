package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// Matrix-matrix products (prefill and the vision tower): Y[n, rows] =
// X[n, cols]·Wᵀ. Work is split by weight rows in blocks of rowBlock; within a
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
}

func (t *matMulTask) run(slot, lo, hi int) {
	var panel []float32
	if t.wq != nil {
		if t.pool != nil {
			panel = t.pool.scratchFor(slot, rowBlock*kBlock)
		} else {
			panel = make([]float32, rowBlock*kBlock)
		}
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

func matMul(pool *Pool, t *matMulTask) {
	if !pool.acquire() {
		t.pool = nil
		t.run(0, 0, t.rows)
		return
	}
	p := &pool.tasks.matMul
	*p = *t
	p.pool = pool
	if t.n*t.rows*t.cols < parallelMin {
		p.run(0, 0, t.rows)
	} else {
		pool.run(p, t.rows, rowBlock)
	}
	*p = matMulTask{}
	pool.release()
}

// taskArgs holds one argument struct per parallel kernel, owned by the
// pool and reused under its lock, so a call allocates nothing.
type taskArgs struct {
	matVecQ8  matVecQ8Task
	matVecF32 matVecF32Task
	matMul    matMulTask
	attention attentionTask
}
