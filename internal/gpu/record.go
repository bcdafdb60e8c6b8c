package gpu

import "math"

// Workgroup sizes. Each is a power of two (the kernels' shared-memory
// reductions halve it) and none depends on the device's subgroup size.
const (
	lxDefault = 64
	lxArgmax  = 256
	lxRows    = 16 // attention_rows: query rows per workgroup
	// matmulTN is the tokens a prefill workgroup shares each weight block
	// with (≤ the lanes of a row, which write one token each).
	matmulTN  = 8
	maxGroups = 65535 // the smallest maxComputeWorkGroupCount Vulkan allows
)

// recorder appends kernel dispatches to a Commands, keeping the first
// error so that recording code reads as the model's math.
type recorder struct {
	m          *Model
	c          Commands
	err        error
	dispatches int
}

func ceil(a, b int) int { return (a + b - 1) / b }

// maxLoopGroups bounds the workgroups of a kernel with a grid-stride loop.
// A GPU wants many in flight to hide memory latency; a CPU driver
// (lavapipe) pays for each workgroup and its barriers, and runs only as
// many at once as it has threads.
func (m *Model) maxLoopGroups() int {
	if m.cpuDevice() {
		return 256
	}
	return maxGroups
}

// rowLX is the workgroup size of the kernels that reduce one row per
// workgroup (norm, rope): on a CPU driver a single invocation per row, as
// barriers cost more there than the row's arithmetic.
func (m *Model) rowLX() uint32 {
	if m.cpuDevice() {
		return 1
	}
	return lxDefault
}

// cpuDevice reports a driver that runs kernels on the host CPU (lavapipe).
// Tests set gpuStyle to run the kernels' GPU-shaped variants on lavapipe.
func (m *Model) cpuDevice() bool { return m.dev.Info().Type == "cpu" && !m.gpuStyle }

func (r *recorder) run(name string, spec []uint32, groups [3]int, push any, bufs ...Buffer) {
	if r.err != nil {
		return
	}
	p, err := r.m.pipeline(name, spec)
	if err != nil {
		r.err = err
		return
	}
	g := [3]uint32{uint32(groups[0]), uint32(groups[1]), uint32(groups[2])}
	if r.err = r.c.Dispatch(p, g, pushBytes(push), bufs...); r.err == nil {
		r.dispatches++
	}
}

func (r *recorder) barrier() {
	if r.err == nil {
		r.c.Barrier()
	}
}

// matmul records y[yOff + j*yStride + r] (+)= W·x[xOff + j*cols] for n
// rows of x: one dispatch per part of W.
func (r *recorder) matmul(w *matrix, x Buffer, xOff int, y Buffer, yOff, yStride, n int, flags uint32) {
	tn := 1
	if n > 1 {
		tn = matmulTN
	}
	// Lanes per row: enough threads for the row's 32-column blocks (at
	// most 32, at least the tokens each row writes); the rest of the
	// workgroup takes further rows.
	lanes := matmulTN
	for lanes < 32 && lanes < ceil(w.cols, 32) {
		lanes *= 2
	}
	if r.m.cpuDevice() {
		lanes = 1
	}
	for _, p := range w.parts {
		bias, f := r.m.dummy, flags
		if p.bias != nil {
			bias, f = p.bias, flags|matmulBias
		}
		gx := min(ceil(p.rows, lxDefault/lanes), r.m.maxLoopGroups())
		r.run("matmul", []uint32{lxDefault, w.format, uint32(lanes), uint32(tn)}, [3]int{gx, ceil(n, tn), 1},
			matmulPush{Rows: uint32(p.rows), Cols: uint32(w.cols), N: uint32(n), XOff: uint32(xOff), YOff: uint32(yOff + p.row0), YStride: uint32(yStride), Flags: f},
			p.q, p.scales, x, y, bias)
	}
}

// norm modes.
const (
	rmsNorm   = 0
	layerNorm = 1
)

// norm records rows rows of width d: y = norm(x)·w (+ b).
func (r *recorder) norm(mode uint32, x Buffer, xOff int, y Buffer, yOff int, w, b Buffer, d, rows int, eps float32) {
	if b == nil {
		b = r.m.dummy
	}
	r.run("norm", []uint32{r.m.rowLX(), mode}, [3]int{rows, 1, 1},
		normPush{D: uint32(d), Eps: eps, XOff: uint32(xOff), YOff: uint32(yOff)}, x, y, w, b)
}

// rope records the rotation (after the QK-norm by w when w is not nil) of
// heads heads of every one of n rows of x, in place, by the angles of rot
// from float rotOff on.
func (r *recorder) rope(x Buffer, w Buffer, rot Buffer, rotOff, heads, n, headDim, rowStride, xOff int, eps, scale float32) {
	normed := uint32(1)
	if w == nil {
		normed, w = 0, r.m.dummy
	}
	r.run("rope", []uint32{r.m.rowLX(), normed}, [3]int{heads, n, 1},
		ropePush{HeadDim: uint32(headDim), RowStride: uint32(rowStride), XOff: uint32(xOff), Eps: eps, Scale: scale, RotOff: uint32(rotOff)}, x, w, rot)
}

// act modes.
const (
	actSwiGLU   = 0
	actGELUTanh = 1
	actGELUErf  = 2
)

func (r *recorder) act(mode uint32, x, up Buffer, count int) {
	if up == nil {
		up = r.m.dummy
	}
	groups := ceil(count, lxDefault)
	r.run("act", []uint32{lxDefault, mode}, [3]int{min(groups, maxGroups), ceil(groups, maxGroups), 1}, actPush{Count: uint32(count)}, x, up)
}

// add modes.
const (
	addPlain     = 0
	addDeepStack = 1
	addCopy      = 2
)

// add records y[yOff+i] (+)= x[xOff+i] for count values (addPlain, addCopy).
func (r *recorder) add(mode uint32, x Buffer, xOff int, y Buffer, yOff, count int) {
	groups := ceil(count, lxDefault)
	r.run("add", []uint32{lxDefault, mode}, [3]int{min(groups, maxGroups), ceil(groups, maxGroups), 1},
		addPush{Count: uint32(count), XOff: uint32(xOff), YOff: uint32(yOff)}, r.m.dummy, x, y)
}

// deepStack records the addition of DeepStack feature layer (of a
// sequence's image slots, images [slot][stride]) to those of the rows
// row0 .. row0+n-1 of x whose tokens (the sequence's tokens buffer) are
// image tokens.
func (r *recorder) deepStack(tokens, images Buffer, layer, stride int, x Buffer, row0, n int) {
	h := r.m.hidden
	r.run("add", []uint32{lxDefault, addDeepStack}, [3]int{ceil(h, lxDefault), n, 1},
		addPush{Count: uint32(h), XOff: uint32((1 + layer) * h), YOff: uint32(row0 * h), Vocab: uint32(r.m.vocab), ImageStride: uint32(stride)}, tokens, images, x)
}

func attentionScale(headDim int) float32 { return float32(1 / math.Sqrt(float64(headDim))) }

// attention is one attention dispatch: rows query rows of heads heads
// against keys and values with the layouts of a. causal reads the step's
// base index from tokens (the decoder); otherwise every row sees a.KvLen
// keys (the vision tower). f16 means k and v hold float16.
func (r *recorder) attention(causal, f16 bool, tokens, q, k, v, out Buffer, heads, rows int, a attentionPush) {
	if tokens == nil {
		tokens = r.m.dummy
	}
	a.Rows = uint32(rows)
	hd := int(a.HeadDim)
	c, h := boolBit(causal), boolBit(f16)
	if r.m.cpuDevice() {
		r.run("attention_rows", []uint32{lxRows, c, h, uint32(hd)}, [3]int{heads, ceil(rows, lxRows), 1}, a, tokens, q, k, v, out)
		return
	}
	r.run("attention", []uint32{lxDefault, c, h, uint32(ceil(hd, lxDefault))}, [3]int{heads, rows, 1}, a, tokens, q, k, v, out)
}
