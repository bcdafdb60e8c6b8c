package gpu

import (
	"fmt"

	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/memfit"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

// DeviceNeed is the device memory the GPU engine takes for a model: every
// buffer Upload and UploadVision make (v nil: no tower), one sequence's
// KV cache at contextLength tokens, and its scratch (a prefill chunk of
// maxChunk tokens, a logits row) with one image's encode at the fixed grid.
func DeviceNeed(p decoder.Params, v *vision.Params, contextLength int, kvF16 bool) memfit.Need {
	var w int64
	words := func(b int64) { w += max(4, (b+3)&^3) } // buffers are whole words
	f32 := func(x []float32) { words(4 * int64(len(x))) }
	lin := func(l *weights.Linear) {
		if l == nil {
			return
		}
		if l.Q8 != nil {
			words(int64(len(l.Q8.Q)))
			words(2 * int64(len(l.Q8.Scales)))
		} else {
			f32(l.F32)
		}
		if l.Bias != nil {
			f32(l.Bias)
		}
	}
	if p.Embed != nil {
		words(int64(len(p.Embed.Tensor().Data)))
	}
	for _, l := range p.Layers {
		for _, n := range [][]float32{l.InputNorm, l.PostNorm, l.QNorm, l.KNorm} {
			f32(n)
		}
		for _, x := range []*weights.Linear{l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down} {
			lin(x)
		}
	}
	f32(p.Norm)
	lin(p.Head)
	t := p.Text
	// A sequence's buffers (NewSequence): the chunk's rows and one logits row.
	scratch := 4 * (int64(maxChunk)*int64(2*t.HiddenSize+2*t.NumHeads*t.HeadDim+2*t.NumKVHeads*t.HeadDim+2*t.IntermediateSize+t.HeadDim+1) + int64(t.VocabSize))
	if v != nil {
		lin(v.PatchEmbed)
		mergers := append([]vision.MergerParams{v.Merger}, v.DeepStack...)
		for _, b := range v.Blocks {
			for _, n := range [][]float32{b.Norm1.Weight, b.Norm1.Bias, b.Norm2.Weight, b.Norm2.Bias} {
				f32(n)
			}
			for _, x := range []*weights.Linear{b.QKV, b.Proj, b.FC1, b.FC2} {
				lin(x)
			}
		}
		for _, m := range mergers {
			f32(m.Norm.Weight)
			f32(m.Norm.Bias)
			lin(m.FC1)
			lin(m.FC2)
		}
		c := v.Config
		n := int64(engine.FixedGrid(c).NumPatches())
		scratch += 4 * n * int64(6*c.HiddenSize+max(c.IntermediateSize, c.HiddenSize))
	}
	return memfit.Need{Weights: w, KVCache: engine.KVCacheBytes(t, contextLength, kvF16), ContextLength: contextLength, Scratch: scratch}
}

// checkDeviceMemory refuses a model larger than the device's memory
// (MemoryBytes 0: unknown, not checked; memfit.EnvSkip skips it too).
func checkDeviceMemory(d DeviceInfo, need memfit.Need) error {
	if d.MemoryBytes <= 0 || need.Total() <= d.MemoryBytes || memfit.Skipped() {
		return nil
	}
	return fmt.Errorf("%w: the model needs about %s of device memory (%s) but %s has %s; shorten the context (--ctx, WithContextLength), halve the KV cache (--kv-f16), or run on the CPU (--backend cpu); %s=1 tries anyway",
		ErrUnsupported, memfit.GB(need.Total()), need, d.Name, memfit.GB(d.MemoryBytes), memfit.EnvSkip)
}
