package kernels

import (
	"fmt"

	"github.com/vlmrt/vlmrt/internal/quant"
)

// Int16 activations × int8 weights (decode's "act-int16" numerics).
//
// Decode's matrix-vector products read every weight byte once per token;
// on a wide-vector CPU the float32 kernel's per-byte work (widen to int32,
// convert to float32, multiply, scale per block) keeps it below the memory
// bus. Quantizing the activation vector to int16 per block of 32 values
// (one float32 scale per block: scale = max|x|/32767, round half away from
// zero, within 2⁻⁹ of a step) turns each block into an exact int32 dot product — VPDPWSSD (VNNI)
// or VPMADDWD multiply 32 or 16 int16 pairs per instruction — scaled once
// by both block scales:
//
//	y[r] = Σ_b f16(wscale[r,b]) · xscale[b] · Σ_{c∈b} q[r,c] · xq[c]
//
// The activations' rounding is at most half a step of max|x|/32767 per
// block (relative 1.5e-5 of the block's largest value), about 260 times
// finer than act-int8's and far below the weights' own int8 rounding; the
// golden tests (internal/decoder TestGoldenActInt16) pin what it moves.
// The integer sums are exact on every path (the AVX-512 kernels convert
// partial sums of 8 products to float32, exact up to 2²⁴ and within 2⁻²⁴
// above); paths differ only in the order the scaled float32 terms are
// added, and for one vector alone or among several of a batch a path
// computes bit for bit the same.

// q16Max is the largest int16 code: |q| ≤ 32767 keeps a block's 32
// products (≤ 127·32767·32 < 2³¹) inside int32.
const q16Max = 32767

// Q16Acts holds n activation vectors quantized to int16 per 32-value
// block: the input of MatVecQ8Q16. Its buffers grow on demand and are
// reused, so a caller that keeps one quantizes without allocating. A
// Q16Acts must not be used by two goroutines at once.
type Q16Acts struct {
	N, Cols int
	// Q is [N, Blocks·32] (each vector zero-padded to whole blocks).
	Q []int16
	// Scales is [N, Blocks]: value c of vector v is Q[v,c]·Scales[v,c/32].
	Scales []float32
	// lanes is Q with each vector's whole 512-column groups lane-grouped,
	// the order the AVX-512 kernels read (filled only on that path).
	lanes []int16
	task  q8q16Task // the pool's argument struct for this call
}

// Blocks is the number of 32-value blocks per vector.
func (a *Q16Acts) Blocks() int { return quant.BlocksPerRow(a.Cols) }

// Quantize fills a with the n vectors of x ([n, cols]).
func (a *Q16Acts) Quantize(x []float32, n, cols int) {
	if n < 0 || cols <= 0 || len(x) < n*cols {
		panic(fmt.Sprintf("kernels: Quantize of %d values as %d × %d", len(x), n, cols))
	}
	a.N, a.Cols = n, cols
	bpr := a.Blocks()
	stride := bpr * quant.BlockSize
	a.Q = grow(a.Q, n*stride)
	a.Scales = grow(a.Scales, n*bpr)
	for v := 0; v < n; v++ {
		quantizeAct16(a.Q[v*stride:(v+1)*stride], a.Scales[v*bpr:(v+1)*bpr], x[v*cols:(v+1)*cols])
	}
	a.lanes = laneGroupAct16(a.lanes, a.Q, n, cols, stride)
}

// quantizeAct16 is quantizeAct with int16 codes: scale = max|x|/32767,
// the whole blocks in assembly where the path has it (bit for bit the Go
// code's).
func quantizeAct16(q []int16, scales []float32, x []float32) {
	done := quantizeAct16Asm(q, scales, x)
	quantizeBlocks(q[done*quant.BlockSize:], scales[done:], x[done*quant.BlockSize:], q16Max)
}

// MatVecQ8Q16 computes y[v, r] = Σ_b f16(W.scale[r,b])·a.Scales[v,b]·Σ q·xq
// for the a.N quantized vectors (y [a.N, w.Rows]) in one pass over W: the
// int16-activation counterpart of MatVecQ8 (a.N = 1) and MatVecQ8Each.
func MatVecQ8Q16(y []float32, w *quant.Matrix, a *Q16Acts) { (*Pool)(nil).MatVecQ8Q16(y, w, a) }

// MatVecQ8Q16 is the package's MatVecQ8Q16 on the pool's threads.
func (p *Pool) MatVecQ8Q16(y []float32, w *quant.Matrix, a *Q16Acts) {
	p.MatVecQ8Q16Fused(a, Q8Product{Y: y, W: w})
}

// Q8Product is one int8 matrix and its output rows in a fused call.
type Q8Product struct {
	Y []float32
	W *quant.Matrix
}

// MaxFused is the most products one fused call takes.
const MaxFused = 3

// MatVecQ8Q16Fused computes up to MaxFused products of the same input a
// (q, k and v; gate and up) as one job on the pool: the threads flow from
// one matrix into the next with a single hand-off and a single wait at the
// end, instead of one per matrix (decode runs some 250 products a token,
// and each wait idles the memory bus while the slowest thread finishes).
// Each product's outputs are exactly those of its own MatVecQ8Q16 call.
func (p *Pool) MatVecQ8Q16Fused(a *Q16Acts, ps ...Q8Product) {
	if len(ps) > MaxFused {
		panic(fmt.Sprintf("kernels: %d fused products, at most %d", len(ps), MaxFused))
	}
	if a == nil {
		panic("kernels: int8×int16 product with nil activations")
	}
	for _, pr := range ps {
		checkActs("int8×int16", pr.Y, pr.W, a.N, a.Cols, len(a.Q), len(a.Scales))
	}
	t := &a.task
	*t = q8q16Task{a: a, n: len(ps)}
	rows, work := 0, 0
	for i, pr := range ps {
		t.ps[i], t.off[i] = pr, rows
		rows += pr.W.Rows
		work += pr.W.Rows * pr.W.Cols
	}
	t.off[len(ps)] = rows
	if a.N > 0 && rows > 0 {
		if work < parallelMin || !p.acquire() {
			t.run(0, 0, rows)
		} else {
			p.runRows(t, rows, a.Cols)
			p.release()
		}
	}
	*t = q8q16Task{}
}

// q8q16Group is how many blocks one assembly step covers: 16 blocks (512
// columns) share one conversion of the weight row's float16 scales. Blocks
// past the last whole group (none in the Qwen3-VL shapes, whose widths are
// multiples of 512) and the short last block run in Go.
const q8q16Group = 16

// q8q16Task is a fused call: the products' rows numbered one after the
// other (product i's rows at off[i] .. off[i+1]-1).
type q8q16Task struct {
	a   *Q16Acts
	n   int
	ps  [MaxFused]Q8Product
	off [MaxFused + 1]int
}

func (t *q8q16Task) run(_, lo, hi int) {
	for i := 0; i < t.n && lo < hi; i++ {
		if lo >= t.off[i+1] {
			continue
		}
		end := min(hi, t.off[i+1])
		q8q16Rows(t.ps[i].Y, t.ps[i].W, t.a, lo-t.off[i], end-t.off[i])
		lo = end
	}
}

// q8q16Rows computes rows [r0, r1) of every vector's product: the whole
// blocks in assembly where the path has it, the short last block (and
// every block without assembly) in Go.
func q8q16Rows(y []float32, w *quant.Matrix, a *Q16Acts, r0, r1 int) {
	if step := batchTileRows(a.N, w.Cols); r1-r0 > step {
		for lo := r0; lo < r1; lo += step {
			q8q16Rows(y, w, a, lo, min(lo+step, r1))
		}
		return
	}
	cols, bpr := w.Cols, w.BlocksPerRow()
	done := 0 // blocks the assembly covered
	if q8q16Asm(y, w, a, r0, r1) {
		done = cols / (quant.BlockSize * q8q16Group) * q8q16Group
		if done == bpr {
			return
		}
	}
	goRowsQ8Acts(y, w, a.N, a.Q, a.Scales, r0, r1, done)
}
