package gpu

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

// visionTower is the vision tower on the device: its weights in float32
// (the tower is never quantized; the CPU binds the same float32 values),
// uploaded once. Only the config and the position inputs stay on the host:
// a grid's position embedding and rotary tables are computed per encode by
// package vision's code (vision.Positions), exactly as the CPU tower does.
type visionTower struct {
	host vision.Params // Config, GELUTanh and Positions; no weights

	hidden, heads, headDim, inter, unit, out int
	eps                                      float32
	blockAct                                 uint32 // actGELUTanh or actGELUErf (hidden_act)

	patchEmbed *matrix
	blocks     []visionBlock
	merger     visionMerger
	deepstack  []visionMerger
	// deepstackAfter[i] lists the DeepStack mergers fed by block i's output.
	deepstackAfter [][]int
}

type visionBlock struct {
	norm1W, norm1B, norm2W, norm2B Buffer
	qkv, proj, fc1, fc2            *matrix
}

type visionMerger struct {
	preNorm      bool
	normW, normB Buffer
	fc1, fc2     *matrix
}

// UploadVision copies the vision tower's weights to the model's device, so
// that EncodeImage runs on it. The tower's output width must be the
// decoder's hidden size and its DeepStack mergers as many as the decoder
// takes (the image rows a sequence reads are [(1+DeepStack)·hidden]).
func (m *Model) UploadVision(ctx context.Context, p vision.Params) error {
	c := &p.Config
	hd := c.HeadDim()
	switch {
	case m.vision != nil:
		return fmt.Errorf("gpu: the vision tower is already uploaded")
	case c.OutHiddenSize != m.hidden:
		return fmt.Errorf("%w: vision out_hidden_size %d is not the decoder's hidden size %d", ErrUnsupported, c.OutHiddenSize, m.hidden)
	case len(p.DeepStack) != m.deepstack || len(c.DeepstackIndexes) != m.deepstack:
		return fmt.Errorf("%w: %d DeepStack mergers for a decoder taking %d DeepStack features", ErrUnsupported, len(p.DeepStack), m.deepstack)
	case hd%2 != 0 || hd > 512:
		return fmt.Errorf("%w: vision head width %d: the GPU kernels take an even width ≤ 512", ErrUnsupported, hd)
	case len(p.Blocks) != c.Depth || p.PatchEmbed == nil || p.Positions == nil:
		return fmt.Errorf("gpu: vision params are incomplete (%d of %d blocks)", len(p.Blocks), c.Depth)
	}
	v := &visionTower{
		host:   vision.Params{Config: p.Config, GELUTanh: p.GELUTanh, Positions: p.Positions},
		hidden: c.HiddenSize, heads: c.NumHeads, headDim: hd, inter: c.IntermediateSize,
		unit: c.SpatialMergeSize * c.SpatialMergeSize, out: c.OutHiddenSize,
		eps: float32(c.LayerNormEps), blockAct: actGELUErf,
		deepstackAfter: make([][]int, c.Depth),
	}
	if p.GELUTanh {
		v.blockAct = actGELUTanh
	}
	for k, at := range c.DeepstackIndexes {
		if at < 0 || at >= c.Depth {
			return fmt.Errorf("gpu: deepstack_visual_indexes[%d] = %d is outside the %d blocks", k, at, c.Depth)
		}
		v.deepstackAfter[at] = append(v.deepstackAfter[at], k)
	}
	// Each upload runs only while the previous ones succeeded (err keeps
	// the first failure), so the list below reads as the tower.
	u := &m.up
	var err error
	lin := func(dst **matrix, l *weights.Linear) {
		if err == nil {
			*dst, err = u.linear(ctx, l, m.dummy)
		}
	}
	norm := func(w, b *Buffer, ln vision.LayerNormParams) {
		if err == nil {
			*w, err = u.f32(ctx, ln.Weight)
		}
		if err == nil {
			*b, err = u.f32(ctx, ln.Bias)
		}
	}
	merger := func(mp vision.MergerParams) visionMerger {
		g := visionMerger{preNorm: mp.PreNorm}
		norm(&g.normW, &g.normB, mp.Norm)
		lin(&g.fc1, mp.FC1)
		lin(&g.fc2, mp.FC2)
		return g
	}
	lin(&v.patchEmbed, p.PatchEmbed)
	v.blocks = make([]visionBlock, len(p.Blocks))
	for i, bp := range p.Blocks {
		b := &v.blocks[i]
		norm(&b.norm1W, &b.norm1B, bp.Norm1)
		lin(&b.qkv, bp.QKV)
		lin(&b.proj, bp.Proj)
		norm(&b.norm2W, &b.norm2B, bp.Norm2)
		lin(&b.fc1, bp.FC1)
		lin(&b.fc2, bp.FC2)
	}
	v.merger = merger(p.Merger)
	for _, mp := range p.DeepStack {
		v.deepstack = append(v.deepstack, merger(mp))
	}
	if err != nil {
		return err
	}
	m.vision = v
	return nil
}
