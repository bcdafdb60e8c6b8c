package coreai

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/mrope"
)

// Step runs the decode graph on one token: ids must hold exactly one id
// (the seed's graph is S=1: input_ids [1,1]; a batched caller learns that
// here, as an error, rather than from a shape fault on the GPU), placed at
// position, which must be Len() — the graph appends to its KV cache. ids[0]
// is a text id < Vocab or an image token Vocab+slot; an image's Slots
// tokens come in slot order at consecutive positions. logits (Vocab floats)
// receives the token's logits [1,1,V].
//
// The graph derives each token's rotary position from (id, position) and
// the rope shift alone (docs/design.md §2.6); Step refuses a token whose derived
// position would differ from Hugging Face's get_rope_index — in practice a
// text token after the image without the host's rope shift set.
//
// If the bridge fails, the KV cache's state is unknown and the session
// needs Reset.
func (s *Session) Step(ctx context.Context, ids []int32, position int32, logits []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "step"); err != nil {
		return err
	}
	if len(ids) != 1 {
		return contractf("step got %d tokens: the Core AI decode graph takes exactly one (S=1, input_ids [1,1]); run a prompt one token per step", len(ids))
	}
	if len(logits) != s.info.Vocab {
		return contractf("step: logits buffer holds %d floats, the graph's logits are [1,1,%d]", len(logits), s.info.Vocab)
	}
	if position != s.n {
		return contractf("step at position %d, but the KV cache holds %d tokens: the S=1 graph appends at the end (Reset to start over)", position, s.n)
	}
	if int(position) >= s.info.MaxContext {
		return fmt.Errorf("%w: step at position %d: the KV cache holds max_context = %d tokens", ErrContextFull, position, s.info.MaxContext)
	}
	id := ids[0]
	if err := s.checkToken(id, position); err != nil {
		return err
	}
	if err := call("vlmrt_coreai_step", func(e *byte, n uintptr) int32 {
		return s.b.step(s.h, id, position, &logits[0], uintptr(len(logits)), e, n)
	}); err != nil {
		s.broken = err
		return err
	}
	s.n++
	if int(id) >= s.info.Vocab {
		if s.imageStart < 0 {
			s.imageStart = position
		}
		s.imageNext++
	}
	return nil
}

// checkToken applies the id-space and rotary rules of the seed's graph.
func (s *Session) checkToken(id, position int32) error {
	v, slots := int32(s.info.Vocab), int32(s.info.Slots)
	if id < 0 || id >= v+slots {
		return contractf("token id %d is outside the vocabulary (%d ids) and its %d image extension ids %d..%d", id, v, slots, v, v+slots-1)
	}
	imageOpen := s.imageStart >= 0 && s.imageNext < slots
	if id >= v {
		slot := id - v
		switch {
		case !s.image:
			return contractf("extension id %d (image slot %d) but no image is in the static inputs: EncodeImage or SetStatic first", id, slot)
		case s.imageNext == slots:
			return contractf("extension id %d after the image's %d slots: the Core AI decoder holds one fixed-grid image per conversation", id, slots)
		case slot != s.imageNext:
			return contractf("image slot %d at position %d, want slot %d: an image's %d extension ids come in slot order at consecutive positions", slot, position, s.imageNext, slots)
		}
		return nil
	}
	if imageOpen {
		return contractf("text id %d at position %d inside the image: slots %d..%d have not been stepped", id, position, s.imageNext, slots-1)
	}
	// A text token's rotary position: what the graph will derive, and what
	// get_rope_index gives (text after a whole image continues Slots −
	// GridSide positions earlier than its index).
	got := mrope.SelfLocate(id, int(position), s.info.Vocab, s.shiftStart, s.shiftAmount, s.info.GridSide)[0]
	want := position
	var wantStart, wantAmount int32 = mrope.TextOnlyShiftStart, 0
	if s.imageStart >= 0 {
		wantStart, wantAmount = mrope.RopeShift(int(s.imageStart), s.info.Slots, s.info.GridSide, s.info.GridSide)
		want = position - wantAmount
	}
	if got != want {
		return contractf("text id %d at position %d would be rotated at %d, want %d: the rope shift is (start %d, amount %d), set it to (%d, %d) with SetStatic",
			id, position, got, want, s.shiftStart, s.shiftAmount, wantStart, wantAmount)
	}
	return nil
}
