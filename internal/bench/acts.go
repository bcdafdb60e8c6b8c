package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"text/tabwriter"

	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/kernels"
)

// ActsResult is decode with another activation format
// (Options.CompareActs), measured in the same process on the same weights
// as the run's own format (Options.Acts), alternating with it so a shared
// host's drift slows both alike.
type ActsResult struct {
	// Acts names the format ("f32", "int16", "int8"), Kernels its
	// matrix-vector kernels (the float ones: kernels.Path).
	Acts    string `json:"acts"`
	Kernels string `json:"kernels"`
	// DecodeTokS is the best of this format's decode runs, BaseDecodeTokS
	// the best of the run's own format alternating with them (and the
	// main decode, Result.DecodeTokS), Speedup their ratio.
	DecodeTokS     float64 `json:"decode_tok_s"`
	BaseDecodeTokS float64 `json:"base_decode_tok_s"`
	Speedup        float64 `json:"speedup"`
	// DecodeProbeRatio is DecodeTokS's as Result.DecodeProbeRatio (over
	// the fresh buffer's read bandwidth).
	DecodeProbeRatio float64 `json:"decode_probe_ratio"`
	// PrefillActs is the batched prefill's format under this one (see
	// Result.PrefillActs); PrefillTokS the best of its prefills of the
	// run's prompt, BasePrefillTokS the best of the run's own format
	// alternating with them (and the main prefill), PrefillSpeedup their
	// ratio. Absent when the prefill is skipped.
	PrefillActs     string  `json:"prefill_acts,omitempty"`
	PrefillTokS     float64 `json:"prefill_tok_s,omitempty"`
	BasePrefillTokS float64 `json:"base_prefill_tok_s,omitempty"`
	PrefillSpeedup  float64 `json:"prefill_speedup,omitempty"`
	// BatchDecode is Options.Batch in this format, each size alternating
	// with the run's own (best of each).
	BatchDecode []ActsBatch `json:"batch_decode,omitempty"`
}

// ActsBatch is one batch size in the compared format and the run's own.
type ActsBatch struct {
	B     int `json:"b"`
	Steps int `json:"steps"`
	// TokS is the compared format's aggregate rate, Ratio its ratio to the
	// same format at B = 1; BaseTokS the run's own format at this B,
	// Speedup TokS over it.
	TokS     float64 `json:"tok_s"`
	Ratio    float64 `json:"ratio"`
	BaseTokS float64 `json:"base_tok_s"`
	Speedup  float64 `json:"speedup"`
}

// actsRounds is how many times each format runs, alternating.
const actsRounds = 3

// actsKernels names the kernels decode runs in format a.
func actsKernels(a decoder.Acts) string {
	switch a {
	case decoder.ActsInt16:
		return kernels.Q8Q16Path()
	case decoder.ActsInt8:
		return kernels.Q8Q8Path()
	}
	return kernels.Path()
}

// compareActs measures e (a CPU engine) in format other, alternating with
// the engine's own format: the batched prefill of ids (when the run
// measured it), decode, then each batch size of opt.Batch (and 1). It
// leaves the engine in its own format.
func compareActs(ctx context.Context, e *engine.Engine, other decoder.Acts, opt Options, res *Result, ids []int32, img *engine.Image, rng *rand.Rand, progress func(string)) (*ActsResult, error) {
	cpu, ok := e.Backend.(*engine.CPU)
	if !ok {
		return nil, fmt.Errorf("bench: activation formats are a CPU-backend option (backend %s)", opt.Backend)
	}
	own := cpu.Decoder.Acts()
	defer cpu.Decoder.SetActs(own)
	other = other.Resolve()
	out := &ActsResult{Acts: other.String(), Kernels: actsKernels(other)}
	vocab := e.Backend.Info().Vocab
	if res.PrefillTokS > 0 {
		best, base, err := alternate(cpu, other, own, actsRounds, func(a decoder.Acts, round int) (float64, error) {
			progress(fmt.Sprintf("batched prefill, %s activations (%s prompt), round %d of %d", a, cpu.Decoder.PrefillActs(), round+1, actsRounds))
			if a == other {
				out.PrefillActs = cpu.Decoder.PrefillActs().String()
			}
			st, err := prefill(ctx, e, ids, img, opt.PrefillChunk)
			if err != nil {
				return 0, fmt.Errorf("bench: batched prefill: %w", err)
			}
			return st.PrefillTokPerSec(), nil
		})
		if err != nil {
			return nil, err
		}
		out.PrefillTokS, out.BasePrefillTokS = best, max(res.PrefillTokS, base)
		out.PrefillSpeedup = out.PrefillTokS / out.BasePrefillTokS
	}
	best, base, err := alternate(cpu, other, own, actsRounds, func(a decoder.Acts, round int) (float64, error) {
		progress(fmt.Sprintf("decode %s activations, round %d of %d (%d tokens)", a, round+1, actsRounds, opt.DecodeTokens))
		return decode(ctx, e, decodePrompt(vocab, rng), opt.DecodeTokens)
	})
	if err != nil {
		return nil, err
	}
	out.DecodeTokS, out.BaseDecodeTokS = best, max(res.DecodeTokS, base)
	out.Speedup = out.DecodeTokS / out.BaseDecodeTokS
	out.DecodeProbeRatio = res.bandwidthRatio(out.DecodeTokS)
	if len(opt.Batch) == 0 {
		return out, nil
	}
	for _, b := range batchSizes(opt.Batch) {
		r := ActsBatch{B: b, Steps: opt.BatchTokens}
		var err error
		r.TokS, r.BaseTokS, err = alternate(cpu, other, own, 2, func(a decoder.Acts, round int) (float64, error) {
			progress(fmt.Sprintf("batched decode: %d sequences × %d steps, %s activations, round %d of 2", b, opt.BatchTokens, a, round+1))
			d, err := timeBatch(ctx, e, b, opt.BatchTokens, vocab, rng)
			if err != nil {
				return 0, fmt.Errorf("bench: batched decode of %d sequences: %w", b, err)
			}
			return float64(b*opt.BatchTokens) / d.Seconds(), nil
		})
		if err != nil {
			return nil, err
		}
		r.Speedup = r.TokS / r.BaseTokS
		out.BatchDecode = append(out.BatchDecode, r)
	}
	for i := range out.BatchDecode {
		out.BatchDecode[i].Ratio = out.BatchDecode[i].TokS / out.BatchDecode[0].TokS
	}
	return out, nil
}

// alternate runs measure rounds times in format other and in own,
// alternating (each call with the decoder switched to its format), and
// returns the best tok/s of each: a shared host's load then falls on both
// formats alike. It leaves the decoder in whichever format ran last.
func alternate(cpu *engine.CPU, other, own decoder.Acts, rounds int, measure func(a decoder.Acts, round int) (float64, error)) (best, base float64, err error) {
	for round := range rounds {
		for _, a := range []decoder.Acts{other, own} {
			cpu.Decoder.SetActs(a)
			tokS, err := measure(a, round)
			if err != nil {
				return 0, 0, err
			}
			if a == other {
				best = max(best, tokS)
			} else {
				base = max(base, tokS)
			}
		}
	}
	return best, base, nil
}

// writeActs prints the comparisons with other activation formats.
func writeActs(w io.Writer, own string, rs []*ActsResult) {
	for _, r := range rs {
		if r.PrefillTokS > 0 {
			fmt.Fprintf(w, "\n%s-activation batched prefill (%s prompt), best of %d runs alternating with %s: %.1f tok/s vs %.1f = %.2f×",
				r.Acts, r.PrefillActs, actsRounds, own, r.PrefillTokS, r.BasePrefillTokS, r.PrefillSpeedup)
		}
		fmt.Fprintf(w, "\n%s-activation decode (%s kernels), best of %d runs alternating with %s: %.2f tok/s vs %.2f = %.2f×",
			r.Acts, r.Kernels, actsRounds, own, r.DecodeTokS, r.BaseDecodeTokS, r.Speedup)
		if r.DecodeProbeRatio > 0 {
			fmt.Fprintf(w, ", %.2f of the fresh buffer's read bandwidth", r.DecodeProbeRatio)
		}
		fmt.Fprintln(w)
		if len(r.BatchDecode) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s-activation batched decode, %d steps, best of 2 alternating runs each\n", r.Acts, r.BatchDecode[0].Steps)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "B\t%s tok/s\tratio to B=1\t%s tok/s\t%s / %s\n", r.Acts, own, r.Acts, own)
		for _, b := range r.BatchDecode {
			fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.2f\t%.2f\n", b.B, b.TokS, b.Ratio, b.BaseTokS, b.Speedup)
		}
		tw.Flush()
	}
}
