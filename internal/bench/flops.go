package bench

import "github.com/vlmrt/vlmrt/config"

// The counts below are the multiply-adds of the matrix products (2 FLOPs
// each), which are all but a fraction of a percent of the work; norms,
// activations, rotary and softmax are left out.

// decoderLayerParams is the weight count of one decoder layer's linears.
func decoderLayerParams(t config.Text) int64 {
	h, qd, kvd, in := int64(t.HiddenSize), int64(t.NumHeads*t.HeadDim), int64(t.NumKVHeads*t.HeadDim), int64(t.IntermediateSize)
	return h*qd + 2*h*kvd + qd*h + 3*h*in
}

// PrefillFLOPs counts a prefill of n tokens into an empty cache that
// computes the logits of the last token only: every token goes through every
// layer's linears, token i attends over i+1 keys in every head
// (q·k and the weighted sum of v: 4·head_dim FLOPs per key and head), and
// the head runs once.
func PrefillFLOPs(cfg *config.Model, n int) float64 {
	t := cfg.Text
	layers := float64(t.NumLayers)
	linear := 2 * float64(decoderLayerParams(t)) * layers * float64(n)
	keys := float64(n) * float64(n+1) / 2 // Σ_{i<n} (i+1)
	attention := 4 * float64(t.NumHeads*t.HeadDim) * keys * layers
	head := 2 * float64(t.VocabSize) * float64(t.HiddenSize)
	return linear + attention + head
}

// VisionFLOPs counts one encode of a gridH×gridW patch grid: the patch
// projection, every block's qkv/proj/MLP and full bidirectional attention,
// and the final and DeepStack mergers on the 2×2-merged tokens.
func VisionFLOPs(cfg *config.Model, gridH, gridW int) float64 {
	v := cfg.Vision
	n, h, in := float64(gridH*gridW), float64(v.HiddenSize), float64(v.IntermediateSize)
	unit := float64(v.SpatialMergeSize * v.SpatialMergeSize)
	tokens := n / unit
	patch := 2 * n * float64(v.PatchDim()) * h
	block := 2*n*(3*h*h+h*h+2*h*in) + 4*n*n*h
	merger := 2 * tokens * (unit*h*unit*h + unit*h*float64(v.OutHiddenSize))
	return patch + float64(v.Depth)*block + float64(1+len(v.DeepstackIndexes))*merger
}
