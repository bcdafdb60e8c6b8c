package kernels

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/quant"
)

// Decode's matrix-vector product. Each weight byte is read exactly once per
// token, so the kernel only has to outrun memory: the int8 values are
// widened to float32 and multiplied with float32 activations (no activation
// quantization, so decode numerics match the fake-quant oracle).

// parallelMin is the work (multiply-adds) below which a call runs on the
// caller alone: handing out a job costs about a microsecond, which tiny
// models' 64-wide layers would not win back.
const parallelMin = 1 << 16

// batchTileBytes is the most weight bytes the batched products take
// through all their vectors before moving on. The kernels share a pass over
// the rows among at most 4 vectors (more would crowd the activations out of
// L1), so a batch of 5 to 8 makes two passes; run over a whole pool chunk
// (megabytes), the second pass read the rows from L3 or memory again. A
// tile this small stays in L2 between the passes, so each weight is read
// from memory once a step whatever the batch.
const batchTileBytes = 128 << 10

// batchTileRows is how many rows of cols columns n vectors take a tile at
// a time: all of them when one pass covers the vectors, else an even count
// (the two-row AVX-512 kernels then see whole pairs) of about
// batchTileBytes.
func batchTileRows(n, cols int) int {
	if n <= 4 {
		return math.MaxInt
	}
	return max(2, batchTileBytes/cols) &^ 1
}

type matVecQ8Task struct {
	y []float32
	w *quant.Matrix
	x []float32
}

func (t *matVecQ8Task) run(_, lo, hi int) { matVecQ8Rows(t.y, t.w, t.x, lo, hi) }

type matVecF32Task struct {
	y, w       []float32
	rows, cols int
	x          []float32
}

func (t *matVecF32Task) run(_, lo, hi int) {
	for r := lo; r < hi; r++ {
		t.y[r] = Dot(t.w[r*t.cols:(r+1)*t.cols], t.x)
	}
}

func matVecQ8(p *Pool, y []float32, w *quant.Matrix, x []float32) {
	if w.Rows*w.Cols < parallelMin || !p.acquire() {
		matVecQ8Rows(y, w, x, 0, w.Rows)
		return
	}
	t := &p.tasks.matVecQ8
	*t = matVecQ8Task{y, w, x}
	p.runRows(t, w.Rows, w.Cols)
	*t = matVecQ8Task{}
	p.release()
}

func matVecF32(p *Pool, y, w []float32, rows, cols int, x []float32) {
	if rows*cols < parallelMin || !p.acquire() {
		(&matVecF32Task{y, w, rows, cols, x}).run(0, 0, rows)
		return
	}
	t := &p.tasks.matVecF32
	*t = matVecF32Task{y, w, rows, cols, x}
	p.runRows(t, rows, 4*cols)
	*t = matVecF32Task{}
	p.release()
}

// matVecQ8Rows computes rows [r0, r1) of y = deq(W)·x.
func matVecQ8Rows(y []float32, w *quant.Matrix, x []float32, r0, r1 int) {
	if r0 >= r1 {
		return
	}
	cols, bpr := w.Cols, w.BlocksPerRow()
	full := cols / quant.BlockSize
	if !haveAsm || full == 0 {
		for r := r0; r < r1; r++ {
			y[r] = goDotQ8(w.Q[r*cols:(r+1)*cols], w.Scales[r*bpr:(r+1)*bpr], x)
		}
		return
	}
	matVecQ8Blocks(&y[r0], &w.Q[r0*cols], &w.Scales[r0*bpr], &x[0], r1-r0, full, cols, 2*bpr)
	if full == bpr {
		return
	}
	tail := full * quant.BlockSize // the short last block
	for r := r0; r < r1; r++ {
		y[r] += goDotQ8(w.Q[r*cols+tail:(r+1)*cols], w.Scales[r*bpr+full:(r+1)*bpr], x[tail:cols])
	}
}

// matVecQ8EachRows computes rows [r0, r1) of y[b] = deq(W)·x[b] for the n
// vectors, each bit-identical to matVecQ8Rows on x[b] alone: the kernels
// walk the rows once, widening each block of a row for all n vectors (the
// same per-vector operations in the same order as the single kernel; only
// the widening is shared), then add the short last block as matVecQ8Rows
// does.
// eachAsmGroup is the most vectors one batched assembly pass takes.
const eachAsmGroup = 4

func matVecQ8EachRows(y []float32, w *quant.Matrix, x []float32, n, r0, r1 int) {
	if r0 >= r1 || n == 0 {
		return
	}
	if n == 1 {
		matVecQ8Rows(y, w, x, r0, r1)
		return
	}
	if step := batchTileRows(n, w.Cols); r1-r0 > step {
		for lo := r0; lo < r1; lo += step {
			matVecQ8EachRows(y, w, x, n, lo, min(lo+step, r1))
		}
		return
	}
	rows, cols, bpr := w.Rows, w.Cols, w.BlocksPerRow()
	full := cols / quant.BlockSize
	if !haveAsm || full == 0 {
		goMatVecQ8Each(y, w, x, n, r0, r1)
		return
	}
	// At most eachAsmGroup vectors share a pass over a chunk of rows: the
	// vectors of more (8 × 10 KB for the 4B's 2560 inputs) spill out of L1
	// and the kernel waits on L2 (measured: 4B, B=8 fell to 1.08× of one
	// sequence, B=4 is 1.62×); a second group rereads the chunk's weights
	// from cache instead (batchTileRows keeps the rows in L2 between groups).
	for b0 := 0; b0 < n; b0 += eachAsmGroup {
		g := min(n-b0, eachAsmGroup)
		matVecQ8EachBlocks(&y[b0*rows+r0], &w.Q[r0*cols], &w.Scales[r0*bpr], &x[b0*cols], r1-r0, full, cols, 2*bpr, g, 4*cols, 4*rows)
	}
	if full == bpr {
		return
	}
	tail := full * quant.BlockSize
	for b := 0; b < n; b++ {
		xb := x[b*cols+tail : (b+1)*cols]
		for r := r0; r < r1; r++ {
			y[b*rows+r] += goDotQ8(w.Q[r*cols+tail:(r+1)*cols], w.Scales[r*bpr+full:(r+1)*bpr], xb)
		}
	}
}

// goMatVecQ8Each is the pure-Go matVecQ8EachRows: goDotQ8 for each vector,
// the int8 → float32 conversion of each block done once for up to
// eachGroup vectors.
func goMatVecQ8Each(y []float32, w *quant.Matrix, x []float32, n, r0, r1 int) {
	rows, cols, bpr := w.Rows, w.Cols, w.BlocksPerRow()
	var sums [eachGroup]float32
	for b0 := 0; b0 < n; b0 += eachGroup {
		g := min(n-b0, eachGroup)
		xg := x[b0*cols : (b0+g)*cols]
		for r := r0; r < r1; r++ {
			goDotQ8Each(&sums, w.Q[r*cols:(r+1)*cols], w.Scales[r*bpr:(r+1)*bpr], xg, g)
			for b := 0; b < g; b++ {
				y[(b0+b)*rows+r] = sums[b]
			}
		}
	}
}

// eachGroup is how many vectors goDotQ8Each serves at once.
const eachGroup = 8

// addFloat advances a float32 pointer by off bytes.
func addFloat(p *float32, off int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(p), off)) }

// checkQ8 guards the assembly against out-of-bounds access: a mismatch is
// a bug in the calling model code, reported with the shapes involved.
func checkQ8(y []float32, w *quant.Matrix, x []float32, n int) {
	if w == nil || w.Rows <= 0 || w.Cols <= 0 || n < 0 ||
		len(w.Q) < w.Rows*w.Cols || len(w.Scales) < w.Rows*w.BlocksPerRow() ||
		len(x) < n*w.Cols || len(y) < n*w.Rows {
		panic(fmt.Sprintf("kernels: int8 product with inconsistent shapes: %s, x %d, y %d, n %d", q8Shape(w), len(x), len(y), n))
	}
}

func q8Shape(w *quant.Matrix) string {
	if w == nil {
		return "nil matrix"
	}
	return fmt.Sprintf("W [%d, %d] (%d values, %d scales)", w.Rows, w.Cols, len(w.Q), len(w.Scales))
}

func checkF32(y, w []float32, rows, cols int, x []float32, n int) {
	if rows <= 0 || cols <= 0 || n < 0 || len(w) < rows*cols || len(x) < n*cols || len(y) < n*rows {
		panic(fmt.Sprintf("kernels: float product with inconsistent shapes: W [%d, %d] (%d values), x %d, y %d, n %d",
			rows, cols, len(w), len(x), len(y), n))
	}
}
