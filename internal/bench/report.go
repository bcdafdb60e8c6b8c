package bench

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// WriteTable prints r as the readable table `vlmrt bench` shows.
func (r *Result) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "vlmrt bench: %s on %s, %d threads, %s kernels (%s, %d CPUs, %s), %s\n",
		r.Model, r.Device, r.Threads, r.CPUPath, r.GOARCH, r.CPUs, r.GoVersion, r.MeasuredAt.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "weights ready in %.1f s, whole run %.1f s", r.LoadSeconds, r.TotalSeconds)
	if r.LoadAverage > 0 {
		fmt.Fprintf(w, ", load average %.2f at start", r.LoadAverage)
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	skipped := func(step string) bool { return slices.Contains(r.Skipped, step) }
	row := func(name, value, note string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", name, value, note) }
	row("measurement", "value", "how")
	if !skipped(StepBandwidth) {
		how := fmt.Sprintf("plain read of a fresh %d MiB buffer, best of 5 passes", r.BandwidthBytes>>20)
		if r.ReadBandwidthAfterGBs > 0 {
			how = fmt.Sprintf("%s, right before (%.1f) and after (%.1f) decode", how, r.ReadBandwidthBeforeGBs, r.ReadBandwidthAfterGBs)
		}
		row("read bandwidth", fmt.Sprintf("%.1f GB/s", r.ReadBandwidthGBs), how)
	}
	if r.WeightsReadGBs > 0 {
		row("weights read", fmt.Sprintf("%.1f GB/s", r.WeightsReadGBs),
			fmt.Sprintf("the same read over the decoder's own weight pages, best of 5 passes, right before (%.1f) and after (%.1f) decode", r.WeightsReadBeforeGBs, r.WeightsReadAfterGBs))
	}
	if r.PeakGFLOPs > 0 {
		row("FMA peak", fmt.Sprintf("%.0f GFLOP/s", r.PeakGFLOPs),
			fmt.Sprintf("float32 FMAs on registers, %s vectors, %d threads, best of 5 passes", r.PeakPath, r.Threads))
	}
	if !skipped(StepDecode) {
		row("decode", fmt.Sprintf("%.2f tok/s", r.DecodeTokS),
			fmt.Sprintf("%d greedy steps after a %d-token prompt, %s activations, best of %d runs", r.DecodeTokens, r.DecodePromptTokens, r.DecodeActs, r.DecodeRuns))
		if r.DispatchesPerToken > 0 {
			row("dispatches per token", fmt.Sprint(r.DispatchesPerToken), "kernels in one decode step's command buffer (one submit, one wait)")
		}
	}
	row("bytes per token", fmt.Sprintf("%.3f GB", float64(r.BytesPerToken)/1e9),
		"int8 linears + int8 head + one embedding row")
	if !skipped(StepDecode) && !skipped(StepBandwidth) {
		if r.WeightsPassGBs > 0 {
			row("decode bandwidth ratio", fmt.Sprintf("%.2f", r.DecodeBandwidthRatio),
				fmt.Sprintf("token for pass: the median decode step (%.1f GB/s) ÷ the median plain-read pass over the same weight pages (%.1f GB/s), alternating", r.DecodeTokenGBs, r.WeightsPassGBs))
			row("decode / read bandwidth", fmt.Sprintf("%.2f", r.DecodeProbeRatio), "bytes/token × tok/s ÷ read bandwidth (the fresh buffer)")
		} else {
			row("decode bandwidth ratio", fmt.Sprintf("%.2f", r.DecodeBandwidthRatio), "bytes/token × tok/s ÷ read bandwidth")
		}
		if r.DecodeWeightsRatio > 0 {
			row("decode / weights read", fmt.Sprintf("%.2f", r.DecodeWeightsRatio), "bytes/token × tok/s ÷ weights read")
		}
	}
	chunk := "runtime default chunk"
	if r.PrefillChunk > 0 {
		chunk = fmt.Sprintf("chunk %d", r.PrefillChunk)
	}
	if !skipped(StepPrefill) {
		row("prefill (batched)", fmt.Sprintf("%.1f tok/s", r.PrefillTokS),
			fmt.Sprintf("%d-token prompt (%d image tokens), %s, %s activations; %.2f GFLOP/token, %.0f GFLOP/s%s; best of %d runs",
				r.PrefillTokens, r.ImageTokens, chunk, r.PrefillActs, r.PrefillGFLOPPerToken, r.PrefillGFLOPs, ofPeak(r.PrefillPeakRatio), len(r.PrefillTokSRuns)))
	}
	if !skipped(StepPrefillS1) {
		row("prefill (S=1)", fmt.Sprintf("%.2f tok/s", r.PrefillS1TokS),
			fmt.Sprintf("first %d tokens of that prompt, one per step", r.PrefillS1Tokens))
	}
	if !skipped(StepVision) {
		row("vision encode", fmt.Sprintf("%.0f ms", r.VisionMs),
			fmt.Sprintf("one 448×448 image (%d patches): %.1f GFLOP at %.0f GFLOP/s%s; best of %d runs", r.VisionPatches, r.VisionGFLOP, r.VisionGFLOPs, ofPeak(r.VisionPeakRatio), len(r.VisionMsRuns)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeBatchTable(w, r.BatchDecode)
	writeActs(w, r.DecodeActs, r.CompareActs)
	writeBudgetTable(w, r.ImageBudgets)
	return nil
}

// ofPeak notes a rate's fraction of the FMA peak (nothing when the peak
// was not measured).
func ofPeak(ratio float64) string {
	if ratio <= 0 {
		return ""
	}
	return fmt.Sprintf(" = %.2f of peak", ratio)
}

// writeBatchTable prints the batched decode sizes (Options.Batch).
func writeBatchTable(w io.Writer, rs []BatchResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nbatched decode: B sequences stepping together (one pass over the weights per step), %d steps each\n", rs[0].Steps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "B\taggregate tok/s\tratio to B=1\tstep ms\n")
	for _, b := range rs {
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.1f\n", b.B, b.TokS, b.Ratio, b.StepMs)
	}
	tw.Flush()
}
