package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vlmrt/vlmrt/internal/engine"
)

// DefaultBatchTokens is how many steps each batch size is timed over.
const DefaultBatchTokens = 16

// BatchResult is the decode of B sequences stepping together (Options.Batch).
type BatchResult struct {
	// B sequences took Steps steps together, one token each per step.
	B     int `json:"b"`
	Steps int `json:"steps"`
	// TokS is the aggregate rate (B·Steps tokens over the time), StepMs
	// the mean time of one step of all B.
	TokS   float64 `json:"tok_s"`
	StepMs float64 `json:"step_ms"`
	// Ratio is TokS over the rate of B = 1 (one sequence decoding alone).
	Ratio float64 `json:"ratio"`
}

// batchDecode measures, for each batch size in bs (1 is always measured,
// as the base of the ratios), B sessions decoding together through an
// engine.Batcher: the step a server's continuous batching runs, every
// weight read once per step for all B sequences (CPU: decoder.ForwardBatch,
// the matrix products taking all B activation vectors in one pass). Each
// sequence has its own short random text prompt; its prefill and a first,
// warm-up step are not timed. The sizes are timed in turn, runs rounds,
// and each reports its best round (as decode reports its best run): on a
// shared machine a slow spell then cannot land on one size alone and skew
// the ratios.
func batchDecode(ctx context.Context, e *engine.Engine, bs []int, steps, runs int, rng *rand.Rand, progress func(string)) ([]BatchResult, error) {
	vocab := e.Backend.Info().Vocab
	sizes := batchSizes(bs)
	best := make([]time.Duration, len(sizes))
	for run := range max(runs, 1) {
		for i, b := range sizes {
			progress(fmt.Sprintf("batched decode: %d sequences × %d steps, round %d of %d", b, steps, run+1, max(runs, 1)))
			d, err := timeBatch(ctx, e, b, steps, vocab, rng)
			if err != nil {
				return nil, fmt.Errorf("bench: batched decode of %d sequences: %w", b, err)
			}
			if run == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	out := make([]BatchResult, len(sizes))
	for i, b := range sizes {
		d := best[i]
		out[i] = BatchResult{B: b, Steps: steps, TokS: float64(b*steps) / d.Seconds(), StepMs: float64(d.Nanoseconds()) / 1e6 / float64(steps)}
		out[i].Ratio = out[i].TokS / out[0].TokS
	}
	return out, nil
}

// batchSizes is bs with 1 (the base of the ratios) added, sorted, each once.
func batchSizes(bs []int) []int {
	sizes := append([]int{1}, bs...)
	slices.Sort(sizes)
	return slices.Compact(sizes)
}

// timeBatch times steps Batcher steps of b fresh sessions.
func timeBatch(ctx context.Context, e *engine.Engine, b, steps, vocab int, rng *rand.Rand) (time.Duration, error) {
	turns := make([]*engine.Turn, b)
	for i := range turns {
		s := e.NewSession()
		defer s.Close()
		t, err := s.Start(ctx, engine.Input{IDs: decodePrompt(vocab, rng)}, engine.Options{MaxTokens: steps + 2})
		if err != nil {
			return 0, err
		}
		turns[i] = t
	}
	batcher := e.NewBatcher()
	step := func() error {
		for _, t := range turns {
			tok, err := t.Emit(ctx)
			if err != nil {
				return err
			}
			if tok.End {
				return fmt.Errorf("a turn ended early (%s)", tok.FinishReason)
			}
		}
		return batcher.Step(ctx, turns)
	}
	if err := step(); err != nil { // warm-up: the batch scratch is sized here
		return 0, err
	}
	start := time.Now()
	for range steps {
		if err := step(); err != nil {
			return 0, err
		}
	}
	d := time.Since(start)
	for _, t := range turns { // the last step's tokens: every step must have run
		if _, err := t.Emit(ctx); err != nil {
			return 0, err
		}
	}
	return d, nil
}
