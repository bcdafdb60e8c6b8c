package kernels

// Row-wise operations on the pool: the norms, activations and softmaxes
// between the vision tower's matrix products. Each is cheap per row, but
// run on the caller alone they leave the other threads idle for a few
// percent of the tower's time; split by rows, they scale with the threads.
// Every row is computed exactly as the single-row function computes it.

// rowsMin is the work (floats) below which a row operation runs on the
// caller alone: waking the workers costs more than it saves.
const rowsMin = 1 << 15

type rowOp int

const (
	rowLayerNorm rowOp = iota
	rowMap
	rowSoftmax
	rowCausalSoftmax
)

type rowsTask struct {
	op           rowOp
	dst, x       []float32
	weight, bias []float32
	eps, scale   float32
	width        int
	base         int // rowCausalSoftmax: row r sees its first base+r+1 values
	f            func([]float32)
}

func (t *rowsTask) run(_, lo, hi int) {
	w := t.width
	for r := lo; r < hi; r++ {
		x := t.x[r*w : (r+1)*w]
		switch t.op {
		case rowLayerNorm:
			LayerNorm(t.dst[r*w:(r+1)*w], x, t.weight, t.bias, t.eps)
		case rowMap:
			t.f(x)
		case rowSoftmax:
			if t.scale != 1 {
				scaleRow(x, t.scale)
			}
			Softmax(x)
		case rowCausalSoftmax:
			seen := min(t.base+r+1, w)
			if t.scale != 1 {
				scaleRow(x[:seen], t.scale)
			}
			Softmax(x[:seen])
			clear(x[seen:])
		}
	}
}

func scaleRow(x []float32, s float32) {
	for j := range x {
		x[j] *= s
	}
}

// rows runs t over len(t.x)/t.width rows on the pool.
func (p *Pool) rows(t rowsTask) {
	if t.width <= 0 {
		return
	}
	n := len(t.x) / t.width
	if n*t.width < rowsMin || !p.acquire() {
		t.run(0, 0, n)
		return
	}
	pt := &p.tasks.rows
	*pt = t
	p.run(pt, n, max(1, n/(8*p.threads)))
	*pt = rowsTask{}
	p.release()
}

// LayerNormRows applies LayerNorm to every width-long row of x into dst
// (dst may alias x); a trailing partial row is left alone.
func (p *Pool) LayerNormRows(dst, x, weight, bias []float32, width int, eps float32) {
	p.rows(rowsTask{op: rowLayerNorm, dst: dst, x: x, weight: weight, bias: bias, eps: eps, width: width})
}

// MapRows applies f in place to every width-long row of x, rows split
// across the pool's threads (f must only touch its row).
func (p *Pool) MapRows(x []float32, width int, f func([]float32)) {
	p.rows(rowsTask{op: rowMap, x: x, width: width, f: f})
}

// softmaxRows scales (unless scale is 1) and normalizes every width-long
// row of x.
func (p *Pool) softmaxRows(x []float32, width int, scale float32) {
	p.rows(rowsTask{op: rowSoftmax, x: x, width: width, scale: scale})
}

// causalSoftmaxRows is softmaxRows over each row r's first base+r+1
// values (the keys a causal query sees), the rest of the row zeroed.
func (p *Pool) causalSoftmaxRows(x []float32, width int, scale float32, base int) {
	p.rows(rowsTask{op: rowCausalSoftmax, x: x, width: width, scale: scale, base: base})
}
