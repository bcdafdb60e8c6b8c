package gpu

import (
	"context"
	"fmt"
	"sync"

	"github.com/vlmrt/vlmrt/internal/engine"
)

// StepBatch implements engine.BatchStepper: each of the sequences takes its
// next token in one recorded pass in which every product runs once over
// all len(steps) rows (each weight read once for the batch: the matmul
// kernel shares each weight block among up to 8 rows), while embedding,
// the KV store, attention and DeepStack run per sequence on its own
// buffers. One command buffer, one wait, len(steps) logits rows back.
func (b *Backend) StepBatch(ctx context.Context, steps []engine.Step, logits []float32) error {
	m := b.m
	n := len(steps)
	switch {
	case n == 0:
		return fmt.Errorf("gpu: StepBatch with no steps")
	case n > maxChunk:
		return fmt.Errorf("%w: a batched step of %d sequences (at most %d)", engine.ErrUnsupportedInput, n, maxChunk)
	case len(logits) < n*m.vocab:
		return fmt.Errorf("gpu: logits buffer holds %d values, want %d sequences × %d", len(logits), n, m.vocab)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	segs := make([]segment, n)
	positions := make([][3]int32, n)
	seen := make(map[*Sequence]bool, n)
	for i, st := range steps {
		s, ok := st.Seq.(*Sequence)
		switch {
		case !ok || s.m != m:
			return fmt.Errorf("%w: step %d: sequence %T was not made by this GPU backend", engine.ErrUnsupportedInput, i, st.Seq)
		case s.closed:
			return fmt.Errorf("gpu: step %d: sequence is closed", i)
		case seen[s]:
			return fmt.Errorf("gpu: step %d: the sequence appears twice in one batched step", i)
		case st.ID < 0 || int(st.ID) >= m.vocab+s.slots:
			return fmt.Errorf("%w: step %d has id %d outside [0, vocab %d + %d image slots)", engine.ErrUnsupportedInput, i, st.ID, m.vocab, s.slots)
		}
		seen[s] = true
		if err := s.reserveKV(s.n + 1); err != nil {
			return err
		}
		if err := s.tokens.Write(0, asBytes([]int32{int32(s.n), st.ID})); err != nil {
			return err
		}
		segs[i], positions[i] = segment{seq: s, row0: i, rows: 1}, st.Pos
	}

	b.batchMu.Lock()
	defer b.batchMu.Unlock()
	if b.batch == nil {
		a, err := m.newActivations(maxChunk)
		if err != nil {
			return err
		}
		c, err := m.dev.NewCommands()
		if err != nil {
			a.release()
			return err
		}
		b.batch, b.batchCmd = a, c
	}
	a, c := b.batch, b.batchCmd
	if _, err := a.reserveLogits(m, n); err != nil {
		return err
	}
	if err := a.writeAngles(m, positions); err != nil {
		return err
	}
	if err := c.Reset(); err != nil {
		return err
	}
	r := &recorder{m: m, c: c}
	m.recordPass(r, a, segs, engine.AllLogits, false, nil)
	if r.err != nil {
		return r.err
	}
	if err := c.Run(ctx); err != nil {
		return err
	}
	if err := a.logits.Read(0, asBytes(logits[:n*m.vocab])); err != nil {
		return err
	}
	for _, sg := range segs {
		sg.seq.n++
	}
	return nil
}

// batchState is the backend's scratch for batched steps, used by one
// StepBatch at a time.
type batchState struct {
	batchMu  sync.Mutex
	batch    *activations
	batchCmd Commands
}

func (bs *batchState) releaseBatch() {
	if bs.batchCmd != nil {
		bs.batchCmd.Release()
	}
	if bs.batch != nil {
		bs.batch.release()
	}
}

var _ engine.BatchStepper = (*Backend)(nil)
