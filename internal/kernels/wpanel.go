package kernels

// The weight-panel product: Y = X·Wᵀ for float32 weights (the vision
// tower) with the packed product's micro-kernel roles swapped. The packed
// product (matmul.go) packs X into k-major panels, broadcasts W's rows and
// accumulates Yᵀ in a per-thread buffer it transposes into Y at the end;
// here W's rows are packed instead, nr at a time (k-major, one vector load
// per column of nr weights), and X's rows are broadcast straight from X, so
// each 6×nr tile of sums is 6 rows of Y, nr outputs long: it accumulates
// in Y itself. No X panels, no Yᵀ buffer to clear, no transpose of the
// result, and the packing reads W — which the product must stream from
// memory anyway — into a panel that stays in cache.
//
// The kernel and its chunking are the packed product's, and a·b = b·a in a
// fused multiply-add, so every output is bit for bit what the packed
// product gives: only the order of the loops around the kernel changes.
//
// Used for float32 weights whose row count is a multiple of the panel
// width (every vision matrix); other shapes take the packed product.
//
// Blocking (measured on a 2-vCPU Zen 5, the 4B tower's 784×1024×4096 and
// 784×4096×1024 products, configurations alternating in one process):
// a work item is wpMC weight rows; its panels (wpMC × wpKC floats, 256 KiB)
// stay in L2 while the X rows of one tile (6 × wpKC floats, 24 KiB) stay in
// L1 across all of the item's panels. Longer passes won up to wpKC = 1024
// (each pass re-reads and re-writes the item's slice of Y); wpMC from 32 to
// 128 made no difference.
const (
	wpMC = 64   // weight rows per work item: whole panels
	wpKC = 1024 // columns per pass: a multiple of the kernel's chunks
)

type wpanelTask struct {
	y, w, x       []float32
	rows, cols, n int
	nr            int // panel width: gemmNR()
	pool          *Pool
}

// wpanelOK reports whether a float32 product takes the weight-panel path.
// It takes the n the packed product would (at least half a panel).
func wpanelOK(nr, rows, n int) bool {
	return nr > 0 && rows%nr == 0 && n >= nr/2 && !gemmOff && !wpanelOff
}

// wpanelOff sends every float32 product to the packed product (tests and
// benchmarks compare the two; set only while no product runs).
var wpanelOff bool

func (t *wpanelTask) items() int { return (t.rows + wpMC - 1) / wpMC }

func (t *wpanelTask) run(slot, lo, hi int) {
	size := wpMC*wpKC + gemmMR*wpMC
	var buf []float32
	if t.pool != nil {
		buf = t.pool.scratchFor(slot, size)
	} else {
		buf = make([]float32, size)
	}
	for it := lo; it < hi; it++ {
		j0 := it * wpMC
		t.block(buf[:wpMC*wpKC], buf[wpMC*wpKC:size], j0, min(j0+wpMC, t.rows))
	}
}

// block computes output columns [j0, j1) for every X row. Rows past the
// last whole group of six accumulate in tail (rows wpMC floats apart),
// copied into Y at the end.
func (t *wpanelTask) block(panel, tail []float32, j0, j1 int) {
	cols, rows, nr, n := t.cols, t.rows, t.nr, t.n
	np := (j1 - j0) / nr
	full := n - n%gemmMR
	chunk := 32 // as the packed product chunks (gemmBlock)
	if cols < 128 {
		chunk = 16
	}
	if full < n {
		clear(tail)
	}
	var xr [gemmMR]*float32
	for kb := 0; kb < cols; kb += wpKC {
		k := min(kb+wpKC, cols) - kb
		for p := range np {
			transposeF32(panel[p*wpKC*nr:], nr, t.w[(j0+p*nr)*cols+kb:], cols, nr, k)
		}
		for i := 0; i < full; i += gemmMR {
			for a := range xr {
				xr[a] = &t.x[(i+a)*cols+kb]
				if kb == 0 { // the tiles add into Y: one clear per row of the item
					clear(t.y[(i+a)*rows+j0 : (i+a)*rows+j1])
				}
			}
			for p := range np {
				gemmTile(&t.y[i*rows+j0+p*nr], rows, &xr, &panel[p*wpKC*nr], k, chunk, true)
			}
		}
		if full < n {
			for a := range xr {
				xr[a] = &t.x[min(full+a, n-1)*cols+kb]
			}
			for p := range np {
				gemmTile(&tail[p*nr], wpMC, &xr, &panel[p*wpKC*nr], k, chunk, true)
			}
		}
	}
	for i := full; i < n; i++ {
		copy(t.y[i*rows+j0:i*rows+j1], tail[(i-full)*wpMC:(i-full)*wpMC+j1-j0])
	}
}

// wpanel runs t, on the pool's threads when it is large enough; the
// pool's own argument struct carries it there, so a call allocates nothing.
func wpanel(pool *Pool, t wpanelTask) {
	if !pool.acquire() {
		t.run(0, 0, t.items())
		return
	}
	p := &pool.tasks.wpanel
	*p = t
	p.pool = pool
	if t.n*t.rows*t.cols < parallelMin {
		p.run(0, 0, p.items())
	} else {
		pool.run(p, p.items(), 1)
	}
	*p = wpanelTask{}
	pool.release()
}
