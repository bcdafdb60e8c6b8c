package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// Int8 activations × int8 weights (the opt-in "act-int8" decode numerics).
//
// The default products widen the int8 weights to float32 and multiply
// float32 activations, which is what the oracle computes. This opt-in also
// quantizes the activation vector, per block of 32 values with one float32
// scale (symmetric, round half away from zero: scale = max|x|/127, the same blocks as
// the weights' quant.Matrix), so each block's product is an exact int32
// dot product of two int8 vectors — what VNNI (VPDPBUSD), AVX2
// (VPMADDUBSW) and arm64's dot-product extension (SDOT) compute in one
// instruction per 64, 32 or 16 bytes — scaled once by both block scales:
//
//	y[r] = Σ_b f16(wscale[r,b]) · xscale[b] · Σ_{c∈b} q[r,c] · xq[c]
//
// The integer sums are exact on every path; paths differ only in the
// order the scaled float32 block terms are added. The activations' int8
// rounding is the error this opt-in adds (measured against the oracle in
// internal/decoder's act-int8 golden test).

// Q8Acts holds n activation vectors quantized to int8 per 32-value block:
// the input of MatVecQ8Q8. Its buffers grow on demand and are reused, so
// a caller that keeps one per model quantizes without allocating. A Q8Acts
// must not be used by two goroutines at once.
type Q8Acts struct {
	N, Cols int
	// Q is [N, Blocks·32] (each vector zero-padded to whole blocks), the
	// round-to-nearest int8 values in [-127, 127].
	Q []int8
	// Scales is [N, Blocks]: value c of vector v is Q[v,c]·Scales[v,c/32].
	Scales []float32
	// aux is Q in the form the active path's assembly takes (formChunks,
	// formGroups or formSigned; formQ reads Q itself).
	aux  []uint8
	form int      // aux's form
	task q8q8Task // the pool's argument struct for this call (no allocation)
}

// Blocks is the number of 32-value blocks per vector.
func (a *Q8Acts) Blocks() int { return quant.BlocksPerRow(a.Cols) }

// Quantize fills a with the n vectors of x ([n, cols]).
func (a *Q8Acts) Quantize(x []float32, n, cols int) {
	if n < 0 || cols <= 0 || len(x) < n*cols {
		panic(fmt.Sprintf("kernels: Quantize of %d values as %d × %d", len(x), n, cols))
	}
	a.N, a.Cols = n, cols
	bpr := a.Blocks()
	stride := bpr * quant.BlockSize
	a.Q = grow(a.Q, n*stride)
	a.Scales = grow(a.Scales, n*bpr)
	for v := 0; v < n; v++ {
		quantizeAct(a.Q[v*stride:(v+1)*stride], a.Scales[v*bpr:(v+1)*bpr], x[v*cols:(v+1)*cols])
	}
	a.form = q8q8FormFor(n)
	switch a.form {
	case formNone, formQ:
	case formPairs:
		a.aux = grow(a.aux, (n+1)/2*bpr*pairBlockBytes)
		preparePairs(a.aux, a)
	default:
		as := a.auxStride()
		a.aux = grow(a.aux, n*as)
		for v := 0; v < n; v++ {
			prepareAux(a.aux[v*as:(v+1)*as], a.Q[v*stride:(v+1)*stride], a.form)
		}
	}
}

// preparePairs writes a's vectors in formPairs into dst.
func preparePairs(dst []uint8, a *Q8Acts) {
	bpr := a.Blocks()
	stride := bpr * quant.BlockSize
	for p := 0; p < (a.N+1)/2; p++ {
		v0, v1 := 2*p, 2*p+1
		for b := range bpr {
			out := dst[(p*bpr+b)*pairBlockBytes:][:pairBlockBytes]
			s0, s1 := a.Scales[v0*bpr+b], float32(0)
			q0 := int8Bytes(a.Q[v0*stride+b*quant.BlockSize:][:quant.BlockSize])
			var q1 []byte
			if v1 < a.N {
				s1 = a.Scales[v1*bpr+b]
				q1 = int8Bytes(a.Q[v1*stride+b*quant.BlockSize:][:quant.BlockSize])
			}
			for c := 0; c < 4; c++ {
				copy(out[16*c:16*c+8], q0[8*c:8*c+8])
				if q1 != nil {
					copy(out[16*c+8:16*c+16], q1[8*c:8*c+8])
				} else {
					clear(out[16*c+8 : 16*c+16])
				}
			}
			for i, s := range [4]float32{s0, s1, s0, s1} {
				binary.LittleEndian.PutUint32(out[64+4*i:], math.Float32bits(s))
			}
		}
	}
}

// int8Bytes views q as bytes (the same memory).
func int8Bytes(q []int8) []byte {
	if len(q) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&q[0])), len(q))
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// quantizeAct quantizes x into q (len(scales)·32 values, the padding
// zeroed) and the per-block scales: scale = max|x|/127 and
// q = round_half_away(x · (1/scale)), so |q| ≤ 127 (an all-zero block has
// scale 0 and q 0); |q| ≤ 127 is what keeps the assembly's offset and sign
// tricks exact. Multiplying by the reciprocal (as llama.cpp's Q8_0 does)
// instead of dividing can move a value lying within a rounding error of a
// half step to the other neighbour: still within half a step (plus one
// float32 rounding) of x/scale.
func quantizeAct(q []int8, scales []float32, x []float32) { quantizeBlocks(q, scales, x, 127) }

// quantizeBlocks quantizes x block by block into q (len(scales)·32 codes,
// the padding zeroed) with scale = max|x|/top and q = round_half_away(x ·
// (1/scale)), so |q| ≤ top: int8 (top 127) and int16 (32767) codes alike.
// max|x| is taken on the bits (non-negative floats order as their bit
// patterns), so a block holding a NaN, like an infinite or all-zero one,
// gets q = 0 (its scale stored as computed). r = x·(1/scale) is a float32:
// near 32767 it keeps 9 bits below the point, so an int16 code is within
// half a step plus 2⁻⁹ of x/scale (an int8 one within a few ulps more
// than half a step).
func quantizeBlocks[T int8 | int16](q []T, scales []float32, x []float32, top float32) {
	for b := range scales {
		lo, hi := b*quant.BlockSize, min(b*quant.BlockSize+quant.BlockSize, len(x))
		xb := x[lo:hi]
		var bits uint32
		for _, v := range xb {
			bits = max(bits, math.Float32bits(v)&0x7fffffff)
		}
		qb := q[lo : lo+quant.BlockSize]
		s := math.Float32frombits(bits) / top
		scales[b] = s
		if !(s > 0 && s <= math.MaxFloat32) {
			clear(qb)
			continue
		}
		id := 1 / s
		for i, v := range xb {
			// Round half away from zero without a branch on the sign
			// (random signs mispredict): add 0.5 carrying r's sign bit,
			// then truncate. |r| ≤ top·(1 + a few ulps) < top + 0.5, so
			// the code is within [-top, top] with no clamp.
			r := v * id
			h := math.Float32frombits(0x3f000000 | math.Float32bits(r)&0x80000000)
			qb[i] = T(int32(r + h))
		}
		clear(qb[hi-lo:])
	}
}

// The auxiliary activation forms the assembly kernels read.
const (
	formNone = iota
	// formChunks: q + 128 as uint8 (the unsigned operand of VPDPBUSD,
	// the weights the signed one), in order: the one-vector kernel.
	formChunks
	// formGroups: per 16-block group (512 values) of whole groups, the
	// values transposed as the AVX-512 kernel transposes the weights
	// (64-byte chunk d holds dword d — values 4d..4d+3 — of each of the 16
	// blocks, block b at bytes 4b..4b+3), then the 16 blocks' −128·Σq as
	// int32: the kernel multiplies the weights offset to unsigned (q_w +
	// 128, VPDPBUSD's unsigned operand) by these signed values, and
	// Σ (q_w+128)·q = Σ q_w·q + 128·Σ q.
	formGroups
	// formSigned: per block, 32 bytes |q| then 32 bytes q: the AVX2
	// kernels' VPMADDUBSW operands (|q| unsigned, q's sign moved onto the
	// weights by VPSIGNB).
	formSigned
	// formQ: no auxiliary form, the kernels read Q (arm64 SDOT multiplies
	// signed by signed bytes).
	formQ
	// formPairs: vectors in pairs (2p, 2p+1; an odd count's last pair
	// with a zero vector), per block pairBlockBytes: 4 × 16 bytes, each
	// 8 values of vector 2p then the same 8 of vector 2p+1 (the 8×2
	// operand of arm64's SMMLA), then the pair's block scales as float32
	// [s₀, s₁, s₀, s₁] (the lanes of SMMLA's 2×2 tile).
	formPairs
)

// pairBlockBytes is one block of a vector pair in formPairs.
const pairBlockBytes = 2*quant.BlockSize + 16

// q8q8GroupBytes is the values (and weight bytes) of one 16-block group;
// q8q8AuxGroup the bytes of its formGroups form.
const (
	q8q8GroupBytes = q8q8Group * quant.BlockSize
	q8q8AuxGroup   = q8q8GroupBytes + 4*q8q8Group
)

// auxStride is one vector's aux bytes.
func (a *Q8Acts) auxStride() int {
	switch a.form {
	case formChunks:
		return a.Blocks() * quant.BlockSize
	case formSigned:
		return a.Blocks() * 2 * quant.BlockSize
	}
	return a.Blocks() / q8q8Group * q8q8AuxGroup
}

// prepareAux writes one vector's q (whole blocks) in the given form.
func prepareAux(dst []uint8, q []int8, form int) {
	switch form {
	case formChunks:
		// 8 bytes at a time: q + 128 is q with its top bit flipped.
		src := int8Bytes(q)
		for i := 0; i+8 <= len(src); i += 8 {
			binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^0x8080808080808080)
		}
		return
	case formSigned:
		for b := 0; b+quant.BlockSize <= len(q); b += quant.BlockSize {
			o := dst[2*b : 2*b+2*quant.BlockSize]
			for i, v := range q[b : b+quant.BlockSize] {
				o[i] = uint8(max(v, -v))
				o[quant.BlockSize+i] = uint8(v)
			}
		}
		return
	}
	if form != formGroups {
		return
	}
	for g := 0; g+q8q8GroupBytes <= len(q); g += q8q8GroupBytes {
		src := int8Bytes(q[g : g+q8q8GroupBytes])
		out := dst[g/q8q8GroupBytes*q8q8AuxGroup:][:q8q8AuxGroup]
		for b := 0; b < q8q8Group; b++ {
			blk := src[32*b : 32*b+32]
			for d := 0; d < 8; d++ {
				binary.LittleEndian.PutUint32(out[64*d+4*b:], binary.LittleEndian.Uint32(blk[4*d:]))
			}
			var sum int32
			for _, v := range q[g+32*b : g+32*b+32] {
				sum += int32(v)
			}
			binary.LittleEndian.PutUint32(out[q8q8GroupBytes+4*b:], uint32(-128*sum))
		}
	}
}

// MatVecQ8Q8 computes y[v, r] = Σ_b f16(W.scale[r,b])·a.Scales[v,b]·Σ q·xq
// for the a.N quantized vectors (y [a.N, w.Rows]) in one pass over W: the
// int8-activation counterpart of MatVecQ8 (a.N = 1) and MatVecQ8Each.
func MatVecQ8Q8(y []float32, w *quant.Matrix, a *Q8Acts) { (*Pool)(nil).MatVecQ8Q8(y, w, a) }

// MatVecQ8Q8 is the package's MatVecQ8Q8 on the pool's threads.
func (p *Pool) MatVecQ8Q8(y []float32, w *quant.Matrix, a *Q8Acts) {
	if a == nil {
		panic("kernels: int8×int8 product with nil activations")
	}
	checkActs("int8×int8", y, w, a.N, a.Cols, len(a.Q), len(a.Scales))
	if a.N == 0 {
		return
	}
	t := &a.task
	*t = q8q8Task{y: y, w: w, a: a}
	if w.Rows*w.Cols < parallelMin || !p.acquire() {
		t.run(0, 0, w.Rows)
	} else {
		p.runRows(t, w.Rows, w.Cols)
		p.release()
	}
	*t = q8q8Task{}
}

type q8q8Task struct {
	y []float32
	w *quant.Matrix
	a *Q8Acts
}

func (t *q8q8Task) run(_, lo, hi int) { q8q8Rows(t.y, t.w, t.a, lo, hi) }

// q8q8Group is how many blocks one assembly step covers: 16 blocks (512
// columns) share one load of the weight row's 16 float16 scales. Blocks
// past the last whole group (none in the Qwen3-VL shapes, whose widths are
// multiples of 512) and the short last block run in Go.
const q8q8Group = 16

// q8q8Rows computes rows [r0, r1) of every vector's product.
func q8q8Rows(y []float32, w *quant.Matrix, a *Q8Acts, r0, r1 int) {
	if step := batchTileRows(a.N, w.Cols); r1-r0 > step {
		for lo := r0; lo < r1; lo += step {
			q8q8Rows(y, w, a, lo, min(lo+step, r1))
		}
		return
	}
	cols, bpr := w.Cols, w.BlocksPerRow()
	groups := 0
	if a.form != formNone && a.form == q8q8FormFor(a.N) {
		groups = cols / (quant.BlockSize * q8q8Group)
	}
	done := groups * q8q8Group // blocks the assembly covered
	if groups > 0 {
		q8q8Asm(y, w, a, r0, r1, groups)
		if done == bpr {
			return // no blocks left for Go
		}
	}
	goRowsQ8Acts(y, w, a.N, a.Q, a.Scales, r0, r1, done)
}

// checkActs guards a quantized-activation product (n vectors of cols
// columns, nq codes and ns scales) against out-of-bounds access: a
// mismatch is a bug in the calling model code, reported with the shapes.
func checkActs(what string, y []float32, w *quant.Matrix, n, cols, nq, ns int) {
	blocks := quant.BlocksPerRow(cols)
	if w == nil || w.Rows <= 0 || w.Cols <= 0 || len(w.Q) < w.Rows*w.Cols || len(w.Scales) < w.Rows*w.BlocksPerRow() ||
		cols != w.Cols || nq < n*blocks*quant.BlockSize || ns < n*blocks || len(y) < n*w.Rows {
		panic(fmt.Sprintf("kernels: %s product with inconsistent shapes: %s, %d activation vectors of %d columns, y %d", what, q8Shape(w), n, cols, len(y)))
	}
}

// goRowsQ8Acts adds (done > 0) or stores rows [r0, r1) of each of the n
// quantized vectors' products (xq [n, blocks·32] int8 or int16 codes, xs
// [n, blocks] scales) over the blocks from done on: the Go tail of the
// int8×int8 and int8×int16 kernels, and their whole product without
// assembly.
func goRowsQ8Acts[T int8 | int16](y []float32, w *quant.Matrix, n int, xq []T, xs []float32, r0, r1, done int) {
	rows, cols, bpr := w.Rows, w.Cols, w.BlocksPerRow()
	xstride := bpr * quant.BlockSize
	for v := 0; v < n; v++ {
		xv, sv := xq[v*xstride:(v+1)*xstride], xs[v*bpr:(v+1)*bpr]
		for r := r0; r < r1; r++ {
			s := goDotQ8Acts(w.Q[r*cols:(r+1)*cols], w.Scales[r*bpr:(r+1)*bpr], xv, sv, done)
			if done > 0 {
				y[v*rows+r] += s
			} else {
				y[v*rows+r] = s
			}
		}
	}
}

// goDotQ8Acts is one row's product over blocks from..len(ws)-1: exact int32
// block sums, each scaled by both block scales and added in block order.
// q is the row (len cols, the last block possibly short), xq the
// zero-padded activation codes (int8 or int16: 32 products of |q| ≤ 127 and
// |xq| ≤ 32767 stay inside int32).
func goDotQ8Acts[T int8 | int16](q []int8, ws []uint16, xq []T, xs []float32, from int) float32 {
	var sum float32
	for b := from; b < len(ws); b++ {
		lo, hi := b*quant.BlockSize, min(b*quant.BlockSize+quant.BlockSize, len(q))
		qb, xb := q[lo:hi], xq[lo:hi]
		var i0, i1, i2, i3 int32
		c := 0
		for ; c+4 <= len(qb); c += 4 {
			i0 += int32(qb[c]) * int32(xb[c])
			i1 += int32(qb[c+1]) * int32(xb[c+1])
			i2 += int32(qb[c+2]) * int32(xb[c+2])
			i3 += int32(qb[c+3]) * int32(xb[c+3])
		}
		for ; c < len(qb); c++ {
			i0 += int32(qb[c]) * int32(xb[c])
		}
		sum += float32(i0+i1+i2+i3) * (f16.ToF32(ws[b]) * xs[b])
	}
	return sum
}
