package gpu

import (
	"fmt"

	"github.com/vlmrt/vlmrt/internal/engine"
)

// activations is the scratch of forward passes of up to rows rows: the
// residual stream and every intermediate of a layer, the rows' rotary
// angles, the logits and the argmax result.
type activations struct {
	rows                          int
	rot, result                   Buffer // [rows][2][half] float32 cos then sin; [2] int32
	x, hn, q, k, v, att, gate, up Buffer
	logits                        Buffer // [logitRows][vocab]
	logitRows                     int
	bufs                          []Buffer
}

func (m *Model) newActivations(rows int) (*activations, error) {
	a := &activations{rows: rows, logitRows: 1}
	qd, kvd := m.heads*m.headDim, m.kvHeads*m.headDim
	for _, b := range []struct {
		dst  *Buffer
		size int
	}{
		{&a.rot, rows * m.headDim}, {&a.result, 2},
		{&a.x, rows * m.hidden}, {&a.hn, rows * m.hidden}, {&a.q, rows * qd},
		{&a.k, rows * kvd}, {&a.v, rows * kvd}, {&a.att, rows * qd},
		{&a.gate, rows * m.inter}, {&a.up, rows * m.inter}, {&a.logits, m.vocab},
	} {
		buf, err := m.dev.NewBuffer(int64(b.size) * 4)
		if err != nil {
			a.release()
			return nil, err
		}
		*b.dst = buf
		a.bufs = append(a.bufs, buf)
	}
	return a, nil
}

func (a *activations) release() {
	releaseAll(a.bufs)
	a.bufs = nil
}

// reserveLogits makes room for n logits rows; grown reports a new buffer
// (recorded command lists that wrote the old one are stale and must be
// re-recorded before they run again).
func (a *activations) reserveLogits(m *Model, n int) (grown bool, err error) {
	if n <= a.logitRows {
		return false, nil
	}
	b, err := m.dev.NewBuffer(int64(a.rows*m.vocab) * 4)
	if err != nil {
		return false, err
	}
	// The one-row buffer goes at once: command lists that wrote it are
	// stale (grown tells the caller to re-record them; Run refuses a list
	// naming a released buffer), and a prefill of maxChunk rows needs the
	// device memory more than a row nobody will write again.
	for i, old := range a.bufs {
		if old == a.logits {
			a.bufs[i] = b
			old.Release()
		}
	}
	a.logits, a.logitRows = b, a.rows
	return true, nil
}

// writeAngles writes the rows' rotary cos/sin tables, computed on the host
// in float64 from their explicit positions (the CPU engine's own values).
func (a *activations) writeAngles(m *Model, positions [][3]int32) error {
	half := m.headDim / 2
	rot := make([]float32, len(positions)*m.headDim)
	for i, p := range positions {
		r := rot[i*m.headDim:]
		m.rotary.CosSin(r[:half], r[half:2*half], p)
	}
	return a.rot.Write(0, asBytes(rot))
}

// picked reads the argmax kernel's result: the chosen id.
func (a *activations) picked() (int32, error) {
	var res [2]int32
	if err := a.result.Read(0, asBytes(res[:])); err != nil {
		return 0, err
	}
	if res[1] != 1 {
		return 0, fmt.Errorf("gpu: the logits are not finite")
	}
	return res[0], nil
}

// segment says that rows row0 .. row0+rows-1 of a pass belong to seq: a
// sequence's own prefill or step is one segment; a batched step has one
// one-row segment per sequence. What depends on the sequence (its ids and
// images, its KV cache, its attention) runs per segment; every product
// runs once over all rows, reading each weight once.
type segment struct {
	seq        *Sequence
	row0, rows int
}

// recordPass appends the decoder's forward pass over the segments' rows
// (the same math as internal/decoder's Forward, one kernel per step of
// it). want: which rows get logits (LastLogits: the last row of a
// single-segment pass; with several segments, AllLogits gives one row per
// segment). pick adds the argmax of the last row. tr, when set, is the
// sequence whose Tracer sees every stage.
func (m *Model) recordPass(r *recorder, a *activations, segs []segment, want engine.Logits, pick bool, tr *Sequence) {
	h, hd := m.hidden, m.headDim
	qd, kvd := m.heads*hd, m.kvHeads*hd
	stride := m.imageStride()
	last := segs[len(segs)-1]
	n := last.row0 + last.rows
	images := func(s *Sequence) Buffer {
		if s.images == nil {
			return m.dummy
		}
		return s.images
	}
	traceCopy := func(k int, src Buffer) {
		if tr != nil {
			tr.traceCopy(r, k, src, n)
		}
	}

	for _, sg := range segs {
		for i, part := range m.embed {
			r.run("embed", []uint32{lxDefault, m.embedFormat}, [3]int{ceil(h, lxDefault), sg.rows, 1},
				embedPush{Hidden: uint32(h), Vocab: uint32(m.vocab), ImageStride: uint32(stride), Row0: uint32(part.row0), Rows: uint32(part.rows),
					Images: boolBit(i == 0), XOff: uint32(sg.row0 * h)},
				sg.seq.tokens, part.buf, images(sg.seq), a.x)
		}
	}
	traceCopy(0, a.x)
	r.barrier()
	for li := range m.layers {
		l := &m.layers[li]
		// Attention block: RMSNorm → q, k, v → QK-norm and M-RoPE → cache → attention → o (+ residual).
		r.norm(rmsNorm, a.x, 0, a.hn, 0, l.inputNorm, nil, h, n, m.eps)
		r.barrier()
		r.matmul(l.q, a.hn, 0, a.q, 0, qd, n, 0)
		r.matmul(l.k, a.hn, 0, a.k, 0, kvd, n, 0)
		r.matmul(l.v, a.hn, 0, a.v, 0, kvd, n, 0)
		r.barrier()
		r.rope(a.q, l.qNorm, a.rot, 0, m.heads, n, hd, qd, 0, m.eps, 1)
		r.rope(a.k, l.kNorm, a.rot, 0, m.kvHeads, n, hd, kvd, 0, m.eps, 1)
		r.barrier()
		for _, sg := range segs {
			s := sg.seq
			for _, kv := range [2]struct{ src, cache Buffer }{{a.k, s.kcache[li]}, {a.v, s.vcache[li]}} {
				r.run("kvstore", []uint32{lxDefault, s.kvF16}, [3]int{ceil(kvd, lxDefault), sg.rows, 1},
					kvstorePush{KvDim: uint32(kvd), SrcOff: uint32(sg.row0 * kvd)}, s.tokens, kv.src, kv.cache)
			}
		}
		r.barrier()
		for _, sg := range segs {
			s := sg.seq
			r.attention(true, s.kvF16 == 1, s.tokens, a.q, s.kcache[li], s.vcache[li], a.att, m.heads, sg.rows,
				attentionPush{HeadDim: uint32(hd), Group: uint32(m.heads / m.kvHeads), Scale: attentionScale(hd),
					QStride: uint32(qd), QOff: uint32(sg.row0 * qd), KvStride: uint32(kvd), OStride: uint32(qd), OOff: uint32(sg.row0 * qd)})
		}
		r.barrier()
		r.matmul(l.o, a.att, 0, a.x, 0, h, n, matmulAccumulate)
		r.barrier()
		// MLP block: RMSNorm → down(silu(gate) · up) (+ residual).
		r.norm(rmsNorm, a.x, 0, a.hn, 0, l.postNorm, nil, h, n, m.eps)
		r.barrier()
		r.matmul(l.gate, a.hn, 0, a.gate, 0, m.inter, n, 0)
		r.matmul(l.up, a.hn, 0, a.up, 0, m.inter, n, 0)
		r.barrier()
		r.act(actSwiGLU, a.gate, a.up, n*m.inter)
		r.barrier()
		r.matmul(l.down, a.gate, 0, a.x, 0, h, n, matmulAccumulate)
		traceCopy(1+2*li, a.x)
		r.barrier()
		if li < m.deepstack {
			added := false
			for _, sg := range segs {
				if sg.seq.slots > 0 {
					r.deepStack(sg.seq.tokens, sg.seq.images, li, stride, a.x, sg.row0, sg.rows)
					added = true
				}
			}
			if added {
				r.barrier()
			}
		}
		traceCopy(2+2*li, a.x)
	}
	if tr != nil {
		r.barrier()
		r.norm(rmsNorm, a.x, 0, a.hn, 0, m.norm, nil, h, n, m.eps)
		traceCopy(traceStages(m)-1, a.hn)
		r.barrier()
	}
	if want == engine.NoLogits {
		return
	}
	first, rows := n-1, 1
	if want == engine.AllLogits {
		first, rows = 0, n
	}
	r.norm(rmsNorm, a.x, first*h, a.hn, 0, m.norm, nil, h, rows, m.eps)
	r.barrier()
	r.matmul(m.head, a.hn, 0, a.logits, 0, m.vocab, rows, 0)
	if pick {
		r.barrier()
		r.run("argmax", []uint32{lxArgmax}, [3]int{1, 1, 1}, argmaxPush{Count: uint32(m.vocab), XOff: uint32((rows - 1) * m.vocab)}, a.logits, a.result)
	}
}
