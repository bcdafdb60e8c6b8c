package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"text/tabwriter"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/kernels"
)

// ActInt8Result is decode with the act-int8 opt-in (Options.ActInt8),
// measured in the same process on the same weights as the default
// (float32-activation) decode, alternating with it so a shared host's
// drift slows both alike.
type ActInt8Result struct {
	// Kernels names the int8×int8 kernels (kernels.Q8Q8Path).
	Kernels string `json:"kernels"`
	// DecodeTokS is the best of the act-int8 decode runs, F32DecodeTokS
	// the best of the default runs alternating with them (and the main
	// decode, Result.DecodeTokS), Speedup their ratio.
	DecodeTokS           float64 `json:"decode_tok_s"`
	F32DecodeTokS        float64 `json:"f32_decode_tok_s"`
	Speedup              float64 `json:"speedup"`
	DecodeBandwidthRatio float64 `json:"decode_bandwidth_ratio"`
	// BatchDecode is Options.Batch with the opt-in, each size alternating
	// with the default (best of each).
	BatchDecode []ActInt8Batch `json:"batch_decode,omitempty"`
}

// ActInt8Batch is one batch size with and without the opt-in.
type ActInt8Batch struct {
	B     int `json:"b"`
	Steps int `json:"steps"`
	// TokS is the act-int8 aggregate rate, Ratio its ratio to act-int8 at
	// B = 1; F32TokS the default's at this B, Speedup TokS over it.
	TokS    float64 `json:"tok_s"`
	Ratio   float64 `json:"ratio"`
	F32TokS float64 `json:"f32_tok_s"`
	Speedup float64 `json:"speedup"`
}

// actInt8Rounds is how many times each variant runs, alternating.
const actInt8Rounds = 3

// actInt8Decode measures act-int8 decode on e (a CPU engine) alternating
// with the default: decode, then each batch size of opt.Batch (and 1). It
// leaves the opt-in off.
func actInt8Decode(ctx context.Context, e *engine.Engine, opt Options, res *Result, rng *rand.Rand, progress func(string)) (*ActInt8Result, error) {
	cpu, ok := e.Backend.(*engine.CPU)
	if !ok {
		return nil, fmt.Errorf("bench: act-int8 is a CPU-backend option (backend %s)", opt.Backend)
	}
	defer cpu.Decoder.SetActInt8(false)
	out := &ActInt8Result{Kernels: kernels.Q8Q8Path(), F32DecodeTokS: res.DecodeTokS}
	vocab := e.Backend.Info().Vocab
	for round := range actInt8Rounds {
		for _, on := range []bool{true, false} {
			cpu.Decoder.SetActInt8(on)
			name := "default"
			if on {
				name = "act-int8 (" + out.Kernels + ")"
			}
			progress(fmt.Sprintf("decode %s, round %d of %d (%d tokens)", name, round+1, actInt8Rounds, opt.DecodeTokens))
			tokS, err := decode(ctx, e, decodePrompt(vocab, rng), opt.DecodeTokens)
			if err != nil {
				return nil, err
			}
			if on {
				out.DecodeTokS = max(out.DecodeTokS, tokS)
			} else {
				out.F32DecodeTokS = max(out.F32DecodeTokS, tokS)
			}
		}
	}
	out.Speedup = out.DecodeTokS / out.F32DecodeTokS
	out.DecodeBandwidthRatio = res.bandwidthRatio(out.DecodeTokS)
	if len(opt.Batch) == 0 {
		return out, nil
	}
	for _, b := range batchSizes(opt.Batch) {
		r := ActInt8Batch{B: b, Steps: opt.BatchTokens}
		for round := range 2 {
			for _, on := range []bool{true, false} {
				cpu.Decoder.SetActInt8(on)
				progress(fmt.Sprintf("batched decode: %d sequences × %d steps, act-int8 %v, round %d of 2", b, opt.BatchTokens, on, round+1))
				d, err := timeBatch(ctx, e, b, opt.BatchTokens, vocab, rng)
				if err != nil {
					return nil, fmt.Errorf("bench: batched decode of %d sequences: %w", b, err)
				}
				tokS := float64(b*opt.BatchTokens) / d.Seconds()
				if on {
					r.TokS = max(r.TokS, tokS)
				} else {
					r.F32TokS = max(r.F32TokS, tokS)
				}
			}
		}
		r.Speedup = r.TokS / r.F32TokS
		out.BatchDecode = append(out.BatchDecode, r)
	}
	for i := range out.BatchDecode {
		out.BatchDecode[i].Ratio = out.BatchDecode[i].TokS / out.BatchDecode[0].TokS
	}
	return out, nil
}

// writeActInt8 prints the act-int8 comparison.
func writeActInt8(w io.Writer, r *ActInt8Result) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nact-int8 decode (int8 activations, %s kernels; not the reference numerics), best of %d alternating runs each: %.2f tok/s vs %.2f default = %.2f×",
		r.Kernels, actInt8Rounds, r.DecodeTokS, r.F32DecodeTokS, r.Speedup)
	if r.DecodeBandwidthRatio > 0 {
		fmt.Fprintf(w, ", bandwidth ratio %.2f", r.DecodeBandwidthRatio)
	}
	fmt.Fprintln(w)
	if len(r.BatchDecode) == 0 {
		return
	}
	fmt.Fprintf(w, "act-int8 batched decode, %d steps, best of 2 alternating runs each\n", r.BatchDecode[0].Steps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "B\tact-int8 tok/s\tratio to B=1\tdefault tok/s\tact-int8 / default\n")
	for _, b := range r.BatchDecode {
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.2f\t%.2f\n", b.B, b.TokS, b.Ratio, b.F32TokS, b.Speedup)
	}
	tw.Flush()
}
