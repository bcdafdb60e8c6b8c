package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/kernels"
)

// ActInt8Result is decode with the act-int8 opt-in (Options.ActInt8),
// measured in the same process on the same weights as the default
// (float32-activation) decode, alternating with it.
type ActInt8Result struct {
	// Kernels names the int8×int8 kernels (kernels.Q8Q8Path).
	Kernels string `json:"kernels"`
	// DecodeTokS is the better of two act-int8 decode runs, F32DecodeTokS
	// the better of two default runs interleaved with them (the first is
	// Result.DecodeTokS), Speedup their ratio.
	DecodeTokS           float64 `json:"decode_tok_s"`
	F32DecodeTokS        float64 `json:"f32_decode_tok_s"`
	Speedup              float64 `json:"speedup"`
	DecodeBandwidthRatio float64 `json:"decode_bandwidth_ratio"`
	// BatchDecode is Options.Batch with the opt-in.
	BatchDecode []BatchResult `json:"batch_decode,omitempty"`
}

// actInt8Decode measures act-int8 decode on e (a CPU engine): int8 decode,
// default decode, int8 decode again, keeping the best of each (the first
// default run is f32TokS), then the batch sizes with the opt-in. It leaves
// the opt-in off.
func actInt8Decode(ctx context.Context, e *engine.Engine, opt Options, res *Result, rng *rand.Rand, progress func(string)) (*ActInt8Result, error) {
	cpu, ok := e.Backend.(*engine.CPU)
	if !ok {
		return nil, fmt.Errorf("bench: act-int8 is a CPU-backend option (backend %s)", opt.Backend)
	}
	defer cpu.Decoder.SetActInt8(false)
	out := &ActInt8Result{Kernels: kernels.Q8Q8Path(), F32DecodeTokS: res.DecodeTokS}
	vocab := e.Backend.Info().Vocab
	for round := range 3 {
		on := round != 1
		cpu.Decoder.SetActInt8(on)
		name := "default"
		if on {
			name = "act-int8 (" + out.Kernels + ")"
		}
		progress(fmt.Sprintf("decode %s (%d tokens)", name, opt.DecodeTokens))
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
	if out.F32DecodeTokS > 0 {
		out.Speedup = out.DecodeTokS / out.F32DecodeTokS
	}
	if res.ReadBandwidthGBs > 0 {
		out.DecodeBandwidthRatio = float64(res.BytesPerToken) * out.DecodeTokS / (res.ReadBandwidthGBs * 1e9)
	}
	if len(opt.Batch) > 0 {
		cpu.Decoder.SetActInt8(true)
		var err error
		if out.BatchDecode, err = batchDecode(ctx, e, opt.Batch, opt.BatchTokens, rng, func(s string) { progress("act-int8 " + s) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeActInt8 prints the act-int8 comparison.
func writeActInt8(w io.Writer, r *ActInt8Result) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nact-int8 decode (int8 activations, %s kernels; not the reference numerics): %.2f tok/s vs %.2f default = %.2f×",
		r.Kernels, r.DecodeTokS, r.F32DecodeTokS, r.Speedup)
	if r.DecodeBandwidthRatio > 0 {
		fmt.Fprintf(w, ", bandwidth ratio %.2f", r.DecodeBandwidthRatio)
	}
	fmt.Fprintln(w)
	if len(r.BatchDecode) > 0 {
		fmt.Fprint(w, "act-int8")
		writeBatchTable(w, r.BatchDecode)
	}
}
