package coreaibackend

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/internal/coreai"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/mrope"
)

// sequence is one conversation on its own coreai.Session.
type sequence struct {
	b *Backend
	s *coreai.Session
	// uploaded: the image's embeddings are in the static inputs, with the
	// rope shift (shiftStart, shiftAmount) derived from its slot 0.
	uploaded                bool
	shiftStart, shiftAmount int32
	scratch                 []float32 // logits of steps whose logits are not wanted
}

func (q *sequence) Len() int { return q.s.Len() }

// Truncate can only keep everything or nothing: the Core AI graph's KV
// cache grows by appending and has no rollback.
func (q *sequence) Truncate(n int) error {
	switch n {
	case q.s.Len():
		return nil
	case 0:
		if err := q.s.Reset(context.Background()); err != nil {
			return err
		}
		q.uploaded, q.shiftStart, q.shiftAmount = false, mrope.TextOnlyShiftStart, 0
		return nil
	}
	return fmt.Errorf("coreai backend: cannot truncate a conversation of %d tokens to %d: the Core AI KV cache only appends (only a full reset is possible)", q.s.Len(), n)
}

// Forward checks the whole batch against the seed contract, then steps it
// one token at a time.
func (q *sequence) Forward(ctx context.Context, ids []int32, positions [][3]int32, st *decoder.Static, want decoder.Logits, logits []float32) error {
	v, slots, side := q.b.info.Vocab, q.b.info.Slots, q.b.info.GridSide
	n := len(ids)
	if n == 0 || len(positions) != n {
		return fmt.Errorf("coreai backend: %d tokens with %d positions", n, len(positions))
	}
	if st == nil {
		st = decoder.TextOnly()
	}
	if st.Slots != 0 && st.Slots != slots {
		return fmt.Errorf("%w: the conversation holds %d image tokens; the Core AI decoder holds one fixed-grid image (%d slots) per conversation",
			engine.ErrUnsupportedInput, st.Slots, slots)
	}
	switch want {
	case decoder.NoLogits:
	case decoder.LastLogits:
		if len(logits) < v {
			return fmt.Errorf("coreai backend: logits buffer holds %d values, want %d", len(logits), v)
		}
	case decoder.AllLogits:
		if len(logits) < n*v {
			return fmt.Errorf("coreai backend: logits buffer holds %d values, want %d tokens × %d", len(logits), n, v)
		}
	default:
		return fmt.Errorf("coreai backend: unknown logits mode %d", want)
	}
	// Check every token's position against what the graph will derive,
	// following the rope shift the image's slot 0 will set.
	base := q.s.Len()
	start, amount, uploaded := q.shiftStart, q.shiftAmount, q.uploaded
	upload := -1 // index in ids where the static inputs are written
	for i, id := range ids {
		if id < 0 || int(id) >= v+st.Slots {
			return fmt.Errorf("%w: token %d has id %d outside the vocabulary (%d) and the conversation's %d image slots", engine.ErrUnsupportedInput, i, id, v, st.Slots)
		}
		if int(id) == v && !uploaded {
			start, amount = mrope.RopeShift(base+i, slots, side, side)
			uploaded, upload = true, i
		}
		got := mrope.SelfLocate(id, base+i, v, start, amount, side)
		if positions[i] != got {
			return fmt.Errorf("%w: token %d (id %d) at sequence index %d has rotary position %v, but the Core AI graph derives %v from its id and the rope shift (start %d, amount %d): only Hugging Face's get_rope_index positions for one fixed-grid image are supported",
				engine.ErrUnsupportedInput, i, id, base+i, positions[i], got, start, amount)
		}
	}
	for i := range ids {
		if i == upload {
			if err := q.s.SetStatic(ctx, coreai.Static{ImageEmbeds: st.ImageEmbeds, DeepstackEmbeds: st.DeepstackEmbeds, RopeShiftStart: start, RopeShiftAmount: amount}); err != nil {
				return mapErr(err)
			}
			q.uploaded, q.shiftStart, q.shiftAmount = true, start, amount
		}
		out := q.scratch
		switch {
		case want == decoder.AllLogits:
			out = logits[i*v : (i+1)*v]
		case want == decoder.LastLogits && i == n-1:
			out = logits[:v]
		}
		if err := q.s.Step(ctx, ids[i:i+1], int32(base+i), out); err != nil {
			return mapErr(err)
		}
	}
	return nil
}
