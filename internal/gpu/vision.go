package gpu

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/vision"
)

// visionRows is the most patch rows one dispatch of a row-wise kernel
// (norm, rope, attention: one workgroup row per patch) takes — the
// workgroup count along an axis may be as low as 65535 and a
// vision.MaxPatches image has 65536 patches — and the rows whose MLP
// activations are kept at once (so the [rows][intermediate] scratch stays
// bounded for large images).
const visionRows = 4096

// EncodeImage runs the vision tower on the device over patches
// [gridH·gridW, PatchDim] in block-major order (gridH, gridW in patches) and
// returns the image as a sequence's static image buffer holds it:
// [tokens][(1+DeepStack)·hidden], each merged token's embedding followed by
// its DeepStack rows. The math is the CPU tower's (package vision), one
// kernel per step of it; the scratch lives for the call. ctx is checked
// between the Runs (blockRuns per block, one per merger).
func (m *Model) EncodeImage(ctx context.Context, patches []float32, gridH, gridW int) (*Image, error) {
	return m.EncodeImageTrace(ctx, patches, gridH, gridW, nil)
}

// EncodeImageTrace is EncodeImage reporting the residual stream after the
// patch embedding ("patch_embed_out") and after each block ("block_out.<i>")
// to trace, named as the oracle's golden files and the CPU tower's trace
// name them (nil: none).
func (m *Model) EncodeImageTrace(ctx context.Context, patches []float32, gridH, gridW int, trace vision.TraceFunc) (*Image, error) {
	v := m.vision
	if v == nil {
		return nil, fmt.Errorf("%w: this model has no vision encoder loaded", engine.ErrUnsupportedInput)
	}
	if err := v.host.CheckInput(patches, gridH, gridW); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e, err := m.newVisionEncode(gridH, gridW)
	if err != nil {
		return nil, err
	}
	defer e.release()
	return e.run(ctx, patches, trace)
}

// visionEncode is one encode's scratch on the device.
type visionEncode struct {
	m            *Model
	v            *visionTower
	gridH, gridW int
	n, tokens    int
	chunk        int    // rows per row-wise dispatch
	patches, rot Buffer // [n][PatchDim]; [n][2][headDim/2] cos then sin
	x, hn        Buffer // residual stream, normalized rows / attention output [n][hidden]
	qkv, mid     Buffer // [n][3·hidden] (also the mergers' fc1 output); [chunk][intermediate]
	c            Commands
	bufs         []Buffer
}

func (m *Model) newVisionEncode(gridH, gridW int) (*visionEncode, error) {
	v := m.vision
	n := gridH * gridW
	e := &visionEncode{m: m, v: v, gridH: gridH, gridW: gridW, n: n, tokens: n / v.unit, chunk: visionRows}
	if m.visionChunk > 0 {
		e.chunk = m.visionChunk
	}
	h := v.hidden
	for _, b := range []struct {
		dst    *Buffer
		floats int
	}{
		{&e.patches, n * v.host.Config.PatchDim()}, {&e.rot, n * v.headDim},
		{&e.x, n * h}, {&e.hn, n * h}, {&e.qkv, n * 3 * h}, {&e.mid, min(n, e.chunk) * v.inter},
	} {
		buf, err := m.dev.NewBuffer(int64(b.floats) * 4)
		if err != nil {
			e.release()
			return nil, fmt.Errorf("gpu: vision scratch for a %d×%d patch grid: %w", gridH, gridW, err)
		}
		*b.dst = buf
		e.bufs = append(e.bufs, buf)
	}
	var err error
	if e.c, err = m.dev.NewCommands(); err != nil {
		e.release()
		return nil, err
	}
	return e, nil
}

func (e *visionEncode) release() {
	if e.c != nil {
		e.c.Release()
	}
	releaseAll(e.bufs)
}

// run encodes the patches into a new image buffer: the patch embedding,
// then blockRuns Runs per block and one per DeepStack merger, then the
// main merger.
func (e *visionEncode) run(ctx context.Context, patches []float32, trace vision.TraceFunc) (*Image, error) {
	m, v := e.m, e.v
	if err := e.writeInputs(patches); err != nil {
		return nil, err
	}
	stride := m.imageStride()
	img, err := m.dev.NewBuffer(int64(e.tokens*stride) * 4)
	if err != nil {
		return nil, fmt.Errorf("gpu: image buffer for %d tokens: %w", e.tokens, err)
	}
	// Each step is one Run; stage names the residual stream it leaves in x
	// for the trace ("": not traced).
	type step struct {
		stage  string
		record func(r *recorder)
	}
	steps := []step{{"patch_embed_out", func(r *recorder) {
		// x holds the position embedding: x = (W·patch + b) + pos, the
		// CPU's order of additions.
		r.matmul(v.patchEmbed, e.patches, 0, e.x, 0, v.hidden, e.n, matmulAccumulate)
	}}}
	// A block is blockRuns Runs and each DeepStack merger one (a fraction
	// of a block), so a cancelled encode waits for less than half a block.
	for i := range v.blocks {
		for part := range blockRuns {
			stage := ""
			if part == blockRuns-1 {
				stage = "block_out." + strconv.Itoa(i)
			}
			steps = append(steps, step{stage, func(r *recorder) { e.block(r, &v.blocks[i], part) }})
		}
		for _, k := range v.deepstackAfter[i] {
			steps = append(steps, step{"", func(r *recorder) { e.merge(r, &v.deepstack[k], img, (1+k)*v.out) }})
		}
	}
	steps = append(steps, step{"", func(r *recorder) { e.merge(r, &v.merger, img, 0) }})

	for _, st := range steps {
		err := e.runStep(ctx, st.record)
		if err == nil && trace != nil && st.stage != "" {
			x := make([]float32, e.n*v.hidden)
			if err = e.x.Read(0, asBytes(x)); err == nil {
				trace(st.stage, x, e.n, v.hidden)
			}
		}
		if err != nil {
			img.Release()
			return nil, err
		}
	}
	return &Image{m: m, buf: img, tokens: e.tokens}, nil
}

// writeInputs uploads the patches and the grid's position inputs, computed
// by package vision exactly as the CPU tower computes them: the position
// embedding goes into the residual stream (the patch embedding is added to
// it), the rotary tables are repacked from the traced layout [n][headDim]
// (angle j repeated at j+headDim/2) to the rope kernel's [n][2][headDim/2].
func (e *visionEncode) writeInputs(patches []float32) error {
	v := e.v
	pos, cos, sin := v.host.Positions.Tables(e.gridH, e.gridW)
	if err := e.x.Write(0, asBytes(pos)); err != nil {
		return err
	}
	hd, half := v.headDim, v.headDim/2
	rot := make([]float32, e.n*hd)
	for p := 0; p < e.n; p++ {
		copy(rot[p*hd:p*hd+half], cos[p*hd:])
		copy(rot[p*hd+half:(p+1)*hd], sin[p*hd:p*hd+half])
	}
	if err := e.rot.Write(0, asBytes(rot)); err != nil {
		return err
	}
	return e.patches.Write(0, asBytes(patches))
}

func (e *visionEncode) runStep(ctx context.Context, record func(r *recorder)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.c.Reset(); err != nil {
		return err
	}
	r := &recorder{m: e.m, c: e.c}
	record(r)
	if r.err != nil {
		return r.err
	}
	return e.c.Run(ctx)
}

// chunks calls fn for consecutive row ranges [lo, lo+rows) of n rows, at
// most visionRows each (fewer when a test lowers Model.visionChunk).
func (e *visionEncode) chunks(n int, fn func(lo, rows int)) {
	e.chunksOf(0, n, fn)
}

// chunksOf is chunks over the rows [from, to).
func (e *visionEncode) chunksOf(from, to int, fn func(lo, rows int)) {
	for lo := from; lo < to; lo += e.chunk {
		fn(lo, min(e.chunk, to-lo))
	}
}

// blockRuns is how many Runs one block is recorded as. The device cannot
// stop a Run, so a cancelled encode waits for the one in flight; the cuts
// fall where the work balances both for small towers, where the attention
// (quadratic in the patches) is most of a block, and for the 4B's, where
// the MLP is: part 0 is norm1, qkv, the rotary and the first half of the
// attention rows; part 1 the second half of the attention, proj, norm2 and
// the MLP of the first half of the rows; part 2 the MLP of the rest. Each
// part is under half a block on both (tiny on lavapipe, from timing its
// pieces: about 0.47, 0.45 and 0.08 of it; the 4B's at 448×448 by FLOPs:
// 0.28, 0.43, 0.29), and a Run costs one submission and one fence wait.
const blockRuns = 3

// block records part (0 ≤ part < blockRuns, see there) of one vision block
// on the residual stream x: x += proj(attention(norm1(x)));
// x += fc2(act(fc1(norm2(x)))).
func (e *visionEncode) block(r *recorder, b *visionBlock, part int) {
	v, n := e.v, e.n
	h, hd := v.hidden, v.headDim
	half := n / 2
	// Full (non-causal) attention of the patches [from, to) over all n,
	// into hn.
	attention := func(from, to int) {
		e.chunksOf(from, to, func(lo, rows int) {
			r.attention(false, false, nil, e.qkv, e.qkv, e.qkv, e.hn, v.heads, rows,
				attentionPush{HeadDim: uint32(hd), Group: 1, KvLen: uint32(n), Scale: 1,
					QStride: uint32(3 * h), QOff: uint32(lo * 3 * h), KvStride: uint32(3 * h), KOff: uint32(h), VOff: uint32(2 * h),
					OStride: uint32(h), OOff: uint32(lo * h)})
		})
		r.barrier()
	}
	// The MLP of the rows [from, to), a chunk at a time: mid holds that
	// many rows.
	mlp := func(from, to int) {
		e.chunksOf(from, to, func(lo, rows int) {
			r.matmul(b.fc1, e.hn, lo*h, e.mid, 0, v.inter, rows, 0)
			r.barrier()
			r.act(v.blockAct, e.mid, nil, rows*v.inter)
			r.barrier()
			r.matmul(b.fc2, e.mid, 0, e.x, lo*h, h, rows, matmulAccumulate)
			r.barrier()
		})
	}
	switch part {
	case 0:
		e.chunks(n, func(lo, rows int) {
			r.norm(layerNorm, e.x, lo*h, e.hn, lo*h, b.norm1W, b.norm1B, h, rows, v.eps)
		})
		r.barrier()
		r.matmul(b.qkv, e.hn, 0, e.qkv, 0, 3*h, n, 0)
		r.barrier()
		// The 2-D rotary on q (the attention scale folded in, as the CPU
		// tower folds it) and on k, in place in the fused [q|k|v] rows.
		scale := attentionScale(hd)
		e.chunks(n, func(lo, rows int) {
			r.rope(e.qkv, nil, e.rot, lo*hd, v.heads, rows, hd, 3*h, lo*3*h, 0, scale)
			r.rope(e.qkv, nil, e.rot, lo*hd, v.heads, rows, hd, 3*h, lo*3*h+h, 0, 1)
		})
		r.barrier()
		attention(0, half)
	case 1:
		attention(half, n)
		r.matmul(b.proj, e.hn, 0, e.x, 0, h, n, matmulAccumulate)
		r.barrier()
		e.chunks(n, func(lo, rows int) {
			r.norm(layerNorm, e.x, lo*h, e.hn, lo*h, b.norm2W, b.norm2B, h, rows, v.eps)
		})
		r.barrier()
		mlp(0, half)
	case 2:
		mlp(half, n)
	}
}

// merge records a patch merger over the residual stream x into img's
// tokens at float offset off of each [(1+DeepStack)·hidden] row: the
// patches are block-major, so each merge×merge group is unit consecutive
// rows and the concat is a view of [n][hidden] as [tokens][unit·hidden].
// The main merger normalizes each patch over the vision hidden before that
// concat; the DeepStack mergers normalize the concatenated row.
func (e *visionEncode) merge(r *recorder, g *visionMerger, img Buffer, off int) {
	v := e.v
	h, uh := v.hidden, v.unit*v.hidden
	if g.preNorm {
		e.chunks(e.n, func(lo, rows int) {
			r.norm(layerNorm, e.x, lo*h, e.hn, lo*h, g.normW, g.normB, h, rows, v.eps)
		})
	} else {
		e.chunks(e.tokens, func(lo, rows int) {
			r.norm(layerNorm, e.x, lo*uh, e.hn, lo*uh, g.normW, g.normB, uh, rows, v.eps)
		})
	}
	r.barrier()
	r.matmul(g.fc1, e.hn, 0, e.qkv, 0, uh, e.tokens, 0)
	r.barrier()
	r.act(actGELUErf, e.qkv, nil, e.tokens*uh)
	r.barrier()
	r.matmul(g.fc2, e.qkv, 0, img, off, e.m.imageStride(), e.tokens, 0)
	r.barrier()
}
