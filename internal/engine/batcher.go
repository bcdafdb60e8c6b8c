package engine

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/mrope"
)

// Batcher advances many turns of one engine together, one token each per
// Step: with a backend that is a BatchStepper, in one pass over the weights
// (continuous batching: a server's decode loop adds a turn after its Start
// and drops it once Done, between steps). Otherwise it steps the turns one
// after the other. A Batcher reuses its buffers, so one serves one loop
// (one goroutine).
type Batcher struct {
	e      *Engine
	turns  []*Turn
	steps  []Step
	ropes  []mrope.Cursor // each turn's rope cursor once its token has run
	logits []float32
}

// NewBatcher returns a Batcher for turns of sessions on e.
func (e *Engine) NewBatcher() *Batcher { return &Batcher{e: e} }

// Step feeds every live turn's emitted token back and chooses its next
// (each turn's Emit then returns it, or the error its step met). Turns
// that are done are skipped. A turn must have emitted its token (and not
// ended) before it is stepped; the turns' sessions must be distinct and
// belong to this Batcher's engine.
func (b *Batcher) Step(ctx context.Context, turns []*Turn) error {
	b.turns = b.turns[:0]
	for _, t := range turns {
		if t.s.e != b.e {
			return fmt.Errorf("engine: a turn of another engine in a batch")
		}
		if !t.done && t.err == nil {
			b.turns = append(b.turns, t)
		}
	}
	bs, ok := b.e.Backend.(BatchStepper)
	if !ok || len(b.turns) < 2 {
		for _, t := range b.turns {
			t.Step(ctx)
		}
		return nil
	}
	vocab := b.e.Backend.Info().Vocab
	b.steps, b.ropes = b.steps[:0], b.ropes[:0]
	for _, t := range b.turns {
		rope := t.s.rope
		b.steps = append(b.steps, Step{Seq: t.s.seq, ID: t.next, Pos: rope.Text()})
		b.ropes = append(b.ropes, rope)
	}
	if need := len(b.turns) * vocab; cap(b.logits) < need {
		b.logits = make([]float32, need)
	}
	if err := bs.StepBatch(ctx, b.steps, b.logits[:len(b.turns)*vocab]); err != nil {
		for _, t := range b.turns { // no sequence advanced: each turn reports it
			t.err = err
		}
		return nil
	}
	for i, t := range b.turns {
		s := t.s
		s.stepID[0] = t.next
		t.stepped(b.ropes[i])
		copy(s.logits, b.logits[i*vocab:(i+1)*vocab])
		t.pick()
	}
	return nil
}
