package vision

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Encoder is the Qwen3-VL vision tower on the CPU: patches → image
// embeddings and DeepStack features (docs/design.md §2 step 2). It is immutable
// after LoadEncoder apart from its internal caches, which are guarded, so
// any number of Encode calls may run concurrently.
type Encoder struct {
	cfg        config.Vision
	shape      towerShape
	outHidden  int
	unit       int // patches per output token: SpatialMergeSize²
	patchEmbed *weights.Linear
	positions  Positions // the position table and rotary constants
	blocks     []*block
	merger     *merger
	deepstack  []*merger
	// deepstackAfter[i] lists the DeepStack mergers fed by block i's output.
	deepstackAfter [][]int

	mu    sync.Mutex
	grids map[gridKey]*gridConstants
	pool  sync.Pool // *scratch of the most recent sizes, reused across calls
}

// gridKey identifies a patch grid (height and width in patches).
type gridKey struct{ h, w int }

// gridConstants are the position-dependent inputs of a grid: the
// interpolated position embedding and the rotary tables, all [n, ·] in
// block-major order. Computed once per grid and never written again.
type gridConstants struct {
	pos      []float32 // [n, hidden]
	cos, sin []float32 // [n, headDim]
}

// maxCachedGrids bounds the grid cache: the fixed 448 grid is always one
// entry, and dynamic-resolution callers with many distinct sizes fall back
// to computing the tables per call instead of growing memory without limit.
const maxCachedGrids = 16

// MaxPatches bounds the grid Encode accepts: Qwen3-VL's preprocessor caps an
// image at 16,777,216 pixels = 65,536 patches of 16×16.
const MaxPatches = 1 << 16

// Output is one image's encoding.
type Output struct {
	// ImageEmbeds [Tokens, text hidden]: the rows that replace the image pads.
	ImageEmbeds []float32
	// DeepstackEmbeds [len(DeepstackIndexes)·Tokens, text hidden]: row
	// k·Tokens+slot is the feature added after decoder layer k at image slot.
	DeepstackEmbeds []float32
	Tokens          int
}

// TraceFunc receives intermediate tensors of a forward pass, named as the
// oracle's golden files name them: "pos_embed", "rot_cos", "rot_sin",
// "patch_embed_out", "block_out.<i>". data is [rows, cols], read-only (the
// tables are the encoder's cache) and only valid during the call: copy it
// to keep it.
type TraceFunc func(stage string, data []float32, rows, cols int)

// visualPrefix is the Hugging Face name space of the vision tower.
const visualPrefix = "model.visual."

// LoadEncoder binds the model.visual.* tensors of src into an Encoder
// shaped by cfg.Vision. Every weight is widened to float32 (the vision tower
// is never quantized). A missing or mis-shaped tensor is an error naming it
// and both shapes.
func LoadEncoder(ctx context.Context, src weights.Source, cfg *config.Model) (*Encoder, error) {
	v := cfg.Vision
	act, err := activation(v.HiddenAct)
	if err != nil {
		return nil, err
	}
	if err := checkVisionConfig(&v); err != nil {
		return nil, err
	}
	hidden, merge := v.HiddenSize, v.SpatialMergeSize
	e := &Encoder{
		cfg:       v,
		shape:     towerShape{hidden: hidden, heads: v.NumHeads, headDim: v.HeadDim(), eps: float32(v.LayerNormEps), act: act, mergerAct: kernels.GELUErf},
		outHidden: v.OutHiddenSize,
		unit:      merge * merge,
		grids:     map[gridKey]*gridConstants{},
	}
	if e.patchEmbed, err = loadPatchEmbed(src, &v); err != nil {
		return nil, err
	}
	side := v.PosEmbedSide()
	e.positions = Positions{side: side, hidden: hidden, merge: merge, headDim: v.HeadDim(), theta: v.RopeTheta}
	if e.positions.table, err = weights.Float32(src, visualPrefix+"pos_embed.weight", side*side, hidden); err != nil {
		return nil, err
	}
	for i := 0; i < v.Depth; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := loadBlock(src, visualPrefix+"blocks."+strconv.Itoa(i), hidden, v.IntermediateSize)
		if err != nil {
			return nil, err
		}
		e.blocks = append(e.blocks, b)
	}
	if e.merger, err = loadMerger(src, visualPrefix+"merger", hidden, e.unit, v.OutHiddenSize, true); err != nil {
		return nil, err
	}
	e.deepstackAfter = make([][]int, v.Depth)
	for k, at := range v.DeepstackIndexes {
		if at < 0 || at >= v.Depth {
			return nil, fmt.Errorf("vision: deepstack_visual_indexes[%d] = %d is outside the %d blocks", k, at, v.Depth)
		}
		m, err := loadMerger(src, visualPrefix+"deepstack_merger_list."+strconv.Itoa(k), hidden, e.unit, v.OutHiddenSize, false)
		if err != nil {
			return nil, err
		}
		e.deepstack = append(e.deepstack, m)
		e.deepstackAfter[at] = append(e.deepstackAfter[at], k)
	}
	return e, nil
}

// checkVisionConfig rejects the numbers the tower cannot run with (config.Parse
// already validates them; this guards hand-built configs).
func checkVisionConfig(v *config.Vision) error {
	for _, c := range []struct {
		name string
		val  int
	}{
		{"depth", v.Depth}, {"hidden_size", v.HiddenSize}, {"num_heads", v.NumHeads},
		{"intermediate_size", v.IntermediateSize}, {"out_hidden_size", v.OutHiddenSize},
		{"patch_size", v.PatchSize}, {"temporal_patch_size", v.TemporalPatchSize},
		{"spatial_merge_size", v.SpatialMergeSize}, {"in_channels", v.InChannels},
		{"num_position_embeddings", v.NumPositionEmbeddings},
	} {
		if c.val <= 0 {
			return fmt.Errorf("vision: vision_config.%s must be positive, got %d", c.name, c.val)
		}
	}
	if v.HiddenSize%v.NumHeads != 0 || v.HeadDim()%4 != 0 {
		return fmt.Errorf("vision: hidden_size %d with %d heads does not give a head width divisible by 4 (the 2D rotary needs it)", v.HiddenSize, v.NumHeads)
	}
	if !(v.RopeTheta > 0) {
		return fmt.Errorf("vision: rotary theta %v must be positive", v.RopeTheta)
	}
	if v.LayerNormEps < 0 {
		return fmt.Errorf("vision: LayerNorm eps %v must not be negative", v.LayerNormEps)
	}
	return nil
}

// loadPatchEmbed binds the Conv3d patch projection. Its kernel covers a
// whole patch with stride = kernel, so it is a linear map of the flattened
// patch; the weight [hidden, C, T, P, P] flattened row-major is [hidden,
// C·T·P·P] in exactly the patch column order (c, t, y, x).
func loadPatchEmbed(src weights.Source, v *config.Vision) (*weights.Linear, error) {
	name := visualPrefix + "patch_embed.proj"
	w, err := weights.Float32(src, name+".weight", v.HiddenSize, v.InChannels, v.TemporalPatchSize, v.PatchSize, v.PatchSize)
	if err != nil {
		return nil, err
	}
	b, err := weights.Float32(src, name+".bias", v.HiddenSize)
	if err != nil {
		return nil, err
	}
	return &weights.Linear{Rows: v.HiddenSize, Cols: v.PatchDim(), F32: w, Bias: b}, nil
}

// Config returns a copy of the vision configuration the encoder was built for.
func (e *Encoder) Config() *config.Vision {
	c := e.cfg
	c.DeepstackIndexes = slices.Clone(c.DeepstackIndexes)
	return &c
}

// TokensFor is the number of image tokens a gridH×gridW patch grid yields.
func (e *Encoder) TokensFor(gridH, gridW int) int { return gridH * gridW / e.unit }

// SetPool makes the encoder's products run on p's threads (nil: on the
// caller alone). Call it before the encoder is shared.
func (e *Encoder) SetPool(p *kernels.Pool) { e.shape.pool = p }

// Encode runs the tower on patches [gridH·gridW, PatchDim] in block-major
// order (gridH, gridW in patches: 28×28 for the fixed 448 grid).
func (e *Encoder) Encode(ctx context.Context, patches []float32, gridH, gridW int) (*Output, error) {
	return e.EncodeTrace(ctx, patches, gridH, gridW, nil)
}

// EncodeTrace is Encode reporting intermediate tensors to trace (nil: none).
func (e *Encoder) EncodeTrace(ctx context.Context, patches []float32, gridH, gridW int, trace TraceFunc) (*Output, error) {
	if err := e.checkInput(patches, gridH, gridW); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n, hidden, hd := gridH*gridW, e.shape.hidden, e.shape.headDim
	consts := e.constants(gridH, gridW)
	s := e.getScratch(n)
	defer e.pool.Put(s)
	if trace == nil {
		trace = func(string, []float32, int, int) {}
	}
	trace("pos_embed", consts.pos, n, hidden)
	trace("rot_cos", consts.cos, n, hd)
	trace("rot_sin", consts.sin, n, hd)

	x := s.x[:n*hidden]
	e.patchEmbed.Forward(e.shape.pool, x, patches, n)
	for i, v := range consts.pos {
		x[i] += v
	}
	trace("patch_embed_out", x, n, hidden)

	tokens := n / e.unit
	out := &Output{
		Tokens:          tokens,
		ImageEmbeds:     make([]float32, tokens*e.outHidden),
		DeepstackEmbeds: make([]float32, len(e.deepstack)*tokens*e.outHidden),
	}
	for i, b := range e.blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.forward(s, &e.shape, consts.cos, consts.sin)
		trace("block_out."+strconv.Itoa(i), x, n, hidden)
		for _, k := range e.deepstackAfter[i] {
			// A DeepStack merger costs about half a block: checking before
			// it keeps a cancelled encode from running a block and a merger.
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			dst := out.DeepstackEmbeds[k*tokens*e.outHidden : (k+1)*tokens*e.outHidden]
			e.deepstack[k].forward(dst, s, &e.shape, x, e.unit)
		}
	}
	e.merger.forward(out.ImageEmbeds, s, &e.shape, x, e.unit)
	return out, nil
}

// checkInput validates the grid and the patch buffer against the config.
func (e *Encoder) checkInput(patches []float32, gridH, gridW int) error {
	return checkInput(&e.cfg, patches, gridH, gridW)
}

// constants returns the position tables of a grid, computing them on first
// use. Two concurrent first uses may both compute; the first stored wins.
func (e *Encoder) constants(gridH, gridW int) *gridConstants {
	key := gridKey{gridH, gridW}
	e.mu.Lock()
	c, ok := e.grids[key]
	e.mu.Unlock()
	if ok {
		return c
	}
	c = &gridConstants{}
	c.pos, c.cos, c.sin = e.positions.Tables(gridH, gridW)
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.grids[key]; ok {
		return prev
	}
	if len(e.grids) < maxCachedGrids {
		e.grids[key] = c
	}
	return c
}

// getScratch returns per-call buffers for n patches, reusing pooled ones of
// the same size.
func (e *Encoder) getScratch(n int) *scratch {
	if s, ok := e.pool.Get().(*scratch); ok && s.n == n {
		return s
	}
	return newScratch(n, e.shape.hidden, e.cfg.IntermediateSize)
}
