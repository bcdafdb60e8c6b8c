package gpu

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
)

// maxChunk is the most tokens one recorded forward pass runs: longer
// prefills go through in chunks of this many (the scratch buffers are sized
// for it).
const maxChunk = 128

// Sequence is one conversation on the device: its KV cache (float32, or
// float16 with Model.KVCacheF16; per layer [capacity][kv_dim]), its static image buffer ([slot][(1+DeepStack)
// ·hidden]: each image token's embedding then its DeepStack rows, filled
// by AddImage and read by the embedding and DeepStack kernels for ids ≥
// vocab), and the scratch of a forward pass. The one-token step is recorded
// once and replayed: what changes per step (the id, the sequence index,
// the rotary angles) is written to the tokens and rot buffers before Run.
type Sequence struct {
	m      *Model
	n      int // tokens run
	closed bool

	capacity       int // KV rows allocated
	kcache, vcache []Buffer
	kvF16          uint32 // 1: the cache holds float16

	images         Buffer // nil until the first image
	slots, slotCap int
	added          []addedImage

	tokens Buffer       // [1+maxChunk] int32: the sequence index of the first row, then the rows' ids
	act    *activations // the scratch of the sequence's own forward passes

	step      Commands // the recorded one-token step (LastLogits, argmax)
	stepValid bool
	chunk     Commands // re-recorded per prefill chunk

	bufs []Buffer // buffers to release

	// Tracer, when set, sees the hidden state of every token at every
	// stage (the oracle's golden ladder): the recorded pass then also
	// copies each stage into a trace buffer, read back after each chunk.
	Tracer decoder.Tracer
	trace  Buffer
}

type addedImage struct {
	atLen, first, tokens int
}

// NewSequence starts an empty conversation on the device.
func (m *Model) NewSequence() (*Sequence, error) {
	s := &Sequence{m: m}
	if m.KVCacheF16 {
		s.kvF16 = 1
	}
	var err error
	if s.tokens, err = m.dev.NewBuffer(4 * (1 + maxChunk)); err != nil {
		return nil, err
	}
	s.bufs = append(s.bufs, s.tokens)
	if s.act, err = m.newActivations(maxChunk); err != nil {
		s.Close()
		return nil, err
	}
	if s.step, err = m.dev.NewCommands(); err == nil {
		s.chunk, err = m.dev.NewCommands()
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Len implements engine.Sequence.
func (s *Sequence) Len() int { return s.n }

// Truncate implements engine.Sequence: the KV rows past n are simply
// overwritten later; images added at or after n give their slots back.
func (s *Sequence) Truncate(n int) error {
	if n < 0 || n > s.n {
		return fmt.Errorf("gpu: truncate to %d tokens of a %d-token sequence", n, s.n)
	}
	s.n = n
	for len(s.added) > 0 && s.added[len(s.added)-1].atLen >= n {
		last := s.added[len(s.added)-1]
		s.slots = last.first
		s.added = s.added[:len(s.added)-1]
	}
	return nil
}

// imageStride is the floats one image slot holds: its embedding and its
// DeepStack rows.
func (m *Model) imageStride() int { return (1 + m.deepstack) * m.hidden }

// AddImage implements engine.Sequence: the image's rows are copied into
// the sequence's static image buffer (grown as needed).
func (s *Sequence) AddImage(ctx context.Context, img engine.ImageHandle) (int, error) {
	if s.closed {
		return 0, fmt.Errorf("gpu: sequence is closed")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m := s.m
	tokens := img.Tokens()
	if err := s.reserveSlots(s.slots + tokens); err != nil {
		return 0, err
	}
	stride := m.imageStride()
	first := s.slots
	switch im := img.(type) {
	case *Image:
		if im.m != m || im.buf == nil {
			return 0, fmt.Errorf("%w: image was encoded by another model or released", engine.ErrUnsupportedInput)
		}
		r := &recorder{m: m, c: s.chunk}
		if err := s.chunk.Reset(); err != nil {
			return 0, err
		}
		r.add(addCopy, im.buf, 0, s.images, first*stride, tokens*stride)
		if r.err != nil {
			return 0, r.err
		}
		if err := s.chunk.Run(ctx); err != nil {
			return 0, err
		}
	case engine.HostImage:
		out := im.Out
		if out == nil || len(out.ImageEmbeds) != tokens*m.hidden || len(out.DeepstackEmbeds) != m.deepstack*tokens*m.hidden {
			return 0, fmt.Errorf("%w: image embeddings do not match the decoder (hidden %d, %d DeepStack features)", engine.ErrUnsupportedInput, m.hidden, m.deepstack)
		}
		rows := make([]float32, tokens*stride)
		h := m.hidden
		for t := 0; t < tokens; t++ {
			copy(rows[t*stride:], out.ImageEmbeds[t*h:(t+1)*h])
			for l := 0; l < m.deepstack; l++ {
				copy(rows[t*stride+(1+l)*h:], out.DeepstackEmbeds[(l*tokens+t)*h:(l*tokens+t+1)*h])
			}
		}
		if err := s.images.Write(int64(first*stride)*4, asBytes(rows)); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("%w: image handle %T is not one the GPU engine made", engine.ErrUnsupportedInput, img)
	}
	s.added = append(s.added, addedImage{atLen: s.n, first: first, tokens: tokens})
	s.slots += tokens
	return first, nil
}

// reserveSlots grows the static image buffer to hold slots image tokens,
// keeping the rows already there.
func (s *Sequence) reserveSlots(slots int) error {
	if slots <= s.slotCap && s.images != nil {
		return nil
	}
	capSlots := max(slots, 2*s.slotCap, 64)
	stride := s.m.imageStride()
	buf, err := s.m.dev.NewBuffer(int64(capSlots*stride) * 4)
	if err != nil {
		return err
	}
	if s.images != nil {
		if err := copyBuffer(s.images, buf, int64(s.slots*stride)*4); err != nil {
			buf.Release()
			return err
		}
		s.images.Release()
	}
	s.images, s.slotCap, s.stepValid = buf, capSlots, false
	return nil
}

// reserveKV grows every layer's cache to hold n rows.
func (s *Sequence) reserveKV(n int) error {
	if n <= s.capacity {
		return nil
	}
	m := s.m
	capRows := max(n, 2*s.capacity, 256)
	if m.contextLength > 0 {
		capRows = max(n, min(capRows, m.contextLength))
	}
	rowBytes := int64(m.kvHeads*m.headDim) * int64(4-2*s.kvF16)
	grow := func(old []Buffer) ([]Buffer, error) {
		next := make([]Buffer, len(m.layers))
		for i := range next {
			b, err := m.dev.NewBuffer(int64(capRows) * rowBytes)
			if err == nil && old != nil {
				err = copyBuffer(old[i], b, int64(s.n)*rowBytes)
			}
			if err != nil {
				if b != nil {
					b.Release()
				}
				releaseAll(next)
				return nil, err
			}
			next[i] = b
		}
		return next, nil
	}
	k, err := grow(s.kcache)
	if err != nil {
		return err
	}
	v, err := grow(s.vcache)
	if err != nil {
		releaseAll(k)
		return err
	}
	releaseAll(s.kcache)
	releaseAll(s.vcache)
	s.kcache, s.vcache, s.capacity, s.stepValid = k, v, capRows, false
	return nil
}

// copyBuffer copies the first n bytes of src to dst through the host (it
// runs only when a sequence outgrows its buffers).
func copyBuffer(src, dst Buffer, n int64) error {
	if n == 0 {
		return nil
	}
	tmp := make([]byte, n)
	if err := src.Read(0, tmp); err != nil {
		return err
	}
	return dst.Write(0, tmp)
}

func releaseAll(bufs []Buffer) {
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}

// Forward implements engine.Sequence.
func (s *Sequence) Forward(ctx context.Context, ids []int32, positions [][3]int32, want engine.Logits, logits []float32) error {
	return s.forward(ctx, ids, positions, want, logits, false)
}

// CanPick implements engine.TokenPicker: greedy only (sampling stays on
// the host, from the logits row).
func (s *Sequence) CanPick(sm engine.Sampling) bool {
	return sm.Temperature == 0 && (sm.RepeatPenalty == 0 || sm.RepeatPenalty == 1)
}

// ForwardPick implements engine.TokenPicker: the argmax runs on the device
// and one id comes back.
func (s *Sequence) ForwardPick(ctx context.Context, ids []int32, positions [][3]int32, sm engine.Sampling, history []int32, u float64) (int32, error) {
	if !s.CanPick(sm) {
		return 0, fmt.Errorf("%w: the GPU engine picks greedy tokens only", engine.ErrUnsupportedInput)
	}
	if err := s.forward(ctx, ids, positions, engine.LastLogits, nil, true); err != nil {
		return 0, err
	}
	return s.act.picked()
}

func (s *Sequence) forward(ctx context.Context, ids []int32, positions [][3]int32, want engine.Logits, logits []float32, pick bool) error {
	m := s.m
	if s.closed {
		return fmt.Errorf("gpu: sequence is closed")
	}
	n := len(ids)
	switch {
	case n == 0:
		return fmt.Errorf("gpu: Forward with no tokens")
	case len(positions) != n:
		return fmt.Errorf("gpu: %d positions for %d tokens", len(positions), n)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= m.vocab+s.slots {
			return fmt.Errorf("%w: token %d has id %d outside [0, vocab %d + %d image slots)", engine.ErrUnsupportedInput, i, id, m.vocab, s.slots)
		}
	}
	switch want {
	case engine.NoLogits:
	case engine.LastLogits:
		if !pick && len(logits) < m.vocab {
			return fmt.Errorf("gpu: logits buffer holds %d values, want %d", len(logits), m.vocab)
		}
	case engine.AllLogits:
		if len(logits) < n*m.vocab {
			return fmt.Errorf("gpu: logits buffer holds %d values, want %d tokens × %d", len(logits), n, m.vocab)
		}
	default:
		return fmt.Errorf("gpu: unknown logits mode %d", want)
	}
	if err := s.reserveKV(s.n + n); err != nil {
		return err
	}
	start := s.n
	for lo := 0; lo < n; lo += maxChunk {
		hi := min(n, lo+maxChunk)
		chunkWant := want
		if want == engine.LastLogits && hi < n {
			chunkWant = engine.NoLogits
		}
		var out []float32
		if want == engine.AllLogits {
			out = logits[lo*m.vocab : hi*m.vocab]
		} else if chunkWant == engine.LastLogits && !pick {
			out = logits[:m.vocab]
		}
		if err := s.runChunk(ctx, ids[lo:hi], positions[lo:hi], chunkWant, out, pick && hi == n); err != nil {
			s.n = start
			return err
		}
		s.n += hi - lo
	}
	return nil
}

// runChunk runs n ≤ maxChunk tokens at sequence index s.n.
func (s *Sequence) runChunk(ctx context.Context, ids []int32, positions [][3]int32, want engine.Logits, out []float32, pick bool) error {
	m := s.m
	n := len(ids)
	if err := ctx.Err(); err != nil {
		return err
	}
	if want == engine.AllLogits {
		grown, err := s.act.reserveLogits(m, n)
		if err != nil {
			return err
		}
		s.stepValid = s.stepValid && !grown
	}
	tok := make([]int32, 1+n)
	tok[0] = int32(s.n)
	copy(tok[1:], ids)
	if err := s.tokens.Write(0, asBytes(tok)); err != nil {
		return err
	}
	if err := s.act.writeAngles(m, positions); err != nil {
		return err
	}

	c := s.chunk
	replay := n == 1 && want == engine.LastLogits && s.Tracer == nil
	if s.Tracer != nil && s.trace == nil {
		b, err := m.dev.NewBuffer(int64(traceStages(m)*maxChunk*m.hidden) * 4)
		if err != nil {
			return err
		}
		s.trace = b
		s.bufs = append(s.bufs, b)
	}
	if replay {
		c = s.step
	}
	if !replay || !s.stepValid {
		if err := c.Reset(); err != nil {
			return err
		}
		r := &recorder{m: m, c: c}
		var tr *Sequence
		if s.Tracer != nil {
			tr = s
		}
		m.recordPass(r, s.act, []segment{{s, 0, n}}, want, replay || pick, tr)
		if r.err != nil {
			return r.err
		}
		if replay {
			s.stepValid = true
			m.stepDispatches.Store(int64(r.dispatches))
		}
	}
	if err := c.Run(ctx); err != nil {
		return err
	}
	if s.Tracer != nil {
		if err := s.readTrace(n); err != nil {
			return err
		}
	}
	if out != nil {
		return s.act.logits.Read(0, asBytes(out))
	}
	return nil
}

// traceStages is the number of traced stages: the embeddings, each layer's
// output before and after the DeepStack add, the final norm.
func traceStages(m *Model) int { return 2 + 2*len(m.layers) }

// traceCopy records the copy of n rows of src into trace stage k.
func (s *Sequence) traceCopy(r *recorder, k int, src Buffer, n int) {
	h := s.m.hidden
	r.barrier()
	r.add(addCopy, src, 0, s.trace, k*maxChunk*h, n*h)
}

// readTrace hands the traced stages of the n tokens just run to the Tracer.
func (s *Sequence) readTrace(n int) error {
	m := s.m
	h := m.hidden
	all := make([]float32, traceStages(m)*maxChunk*h)
	if err := s.trace.Read(0, asBytes(all)); err != nil {
		return err
	}
	for k := 0; k < traceStages(m); k++ {
		stage, layer := decoder.InputsEmbeds, -1
		switch {
		case k == traceStages(m)-1:
			stage = decoder.FinalNorm
		case k > 0:
			stage, layer = decoder.LayerOut, (k-1)/2
			if k%2 == 0 {
				stage = decoder.LayerPostDeepstack
			}
		}
		for i := 0; i < n; i++ {
			s.Tracer.Trace(stage, layer, s.n+i, all[(k*maxChunk+i)*h:(k*maxChunk+i+1)*h])
		}
	}
	return nil
}

// Close implements engine.Sequence.
func (s *Sequence) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	for _, c := range []Commands{s.step, s.chunk} {
		if c != nil {
			c.Release()
		}
	}
	releaseAll(s.bufs)
	releaseAll(s.kcache)
	releaseAll(s.vcache)
	if s.images != nil {
		s.images.Release()
	}
	if s.act != nil {
		s.act.release()
	}
	return nil
}

func boolBit(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
