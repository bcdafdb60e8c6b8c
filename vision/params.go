package vision

import (
	"fmt"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Params is the vision tower as bound: its shape and weights, for a backend
// that runs the same tower elsewhere (the GPU engine uploads them), in the
// spirit of decoder.Params. Loading and checking stay in LoadEncoder, and
// the position tables and input checks stay here (Positions, CheckInput),
// so every backend runs the tower by the same rules. The slices alias the
// encoder's; treat them as read-only.
type Params struct {
	Config config.Vision
	// GELUTanh is the blocks' MLP activation (hidden_act): the tanh
	// approximation when true, else the exact erf GELU. The patch mergers
	// always use the exact erf GELU.
	GELUTanh bool
	// PatchEmbed is the Conv3d patch projection as a linear with bias over
	// the flattened patch [hidden, PatchDim].
	PatchEmbed *weights.Linear
	Blocks     []BlockParams
	// Merger is the main patch merger (LayerNorm over the vision hidden
	// before the merge×merge concat).
	Merger MergerParams
	// DeepStack[k] is the merger fed by block Config.DeepstackIndexes[k]
	// (LayerNorm over the concatenated row).
	DeepStack []MergerParams
	// Positions computes a grid's position embedding and rotary tables.
	Positions *Positions
}

// LayerNormParams is a LayerNorm's affine parameters.
type LayerNormParams struct{ Weight, Bias []float32 }

// BlockParams is one vision transformer block:
// x += Proj(attn(Norm1(x))); x += FC2(act(FC1(Norm2(x)))). QKV rows are
// [q | k | v], each [heads, headDim]; every linear has a bias.
type BlockParams struct {
	Norm1, Norm2        LayerNormParams
	QKV, Proj, FC1, FC2 *weights.Linear
}

// MergerParams is a patch merger: FC2(GELU_erf(FC1(Norm(...)))) over each
// merge×merge group of patches. PreNorm: Norm is over each patch's vision
// hidden (the main merger); otherwise over the concatenated row.
type MergerParams struct {
	PreNorm  bool
	Norm     LayerNormParams
	FC1, FC2 *weights.Linear
}

// Params returns the encoder's bound weights.
func (e *Encoder) Params() Params {
	pos := e.positions // a copy: holding it must not keep the Encoder (all its weights) alive
	p := Params{
		Config:     *e.Config(),
		GELUTanh:   isGELUTanh(e.cfg.HiddenAct),
		PatchEmbed: e.patchEmbed,
		Merger:     e.merger.params(),
		Positions:  &pos,
	}
	for _, b := range e.blocks {
		p.Blocks = append(p.Blocks, BlockParams{
			Norm1: b.norm1.params(), Norm2: b.norm2.params(),
			QKV: b.qkv, Proj: b.proj, FC1: b.fc1, FC2: b.fc2,
		})
	}
	for _, m := range e.deepstack {
		p.DeepStack = append(p.DeepStack, m.params())
	}
	return p
}

func (m *merger) params() MergerParams {
	return MergerParams{PreNorm: m.preNorm, Norm: m.norm.params(), FC1: m.fc1, FC2: m.fc2}
}

func (ln layerNorm) params() LayerNormParams {
	return LayerNormParams{Weight: ln.weight, Bias: ln.bias}
}

// CheckInput validates a patch grid and its patch buffer against the
// config (what Encode checks first).
func (p *Params) CheckInput(patches []float32, gridH, gridW int) error {
	return checkInput(&p.Config, patches, gridH, gridW)
}

// TokensFor is the number of image tokens a gridH×gridW patch grid yields.
func (p *Params) TokensFor(gridH, gridW int) int {
	return gridH * gridW / (p.Config.SpatialMergeSize * p.Config.SpatialMergeSize)
}

// Positions holds what a grid's position-dependent inputs are computed
// from: the learned position table and the rotary constants.
type Positions struct {
	table                        []float32 // [side², hidden], raster order
	side, hidden, merge, headDim int
	theta                        float64
}

// Tables returns the position inputs of a gridH×gridW patch grid, in
// block-major patch order: the interpolated position embedding pos
// [n, hidden] and the 2-D rotary tables cos, sin [n, headDim] (lane j and
// j+headDim/2 share an angle, the traced rot_cos layout). They are computed
// in float64 and rounded once; the grid must have passed CheckInput.
func (p *Positions) Tables(gridH, gridW int) (pos, cos, sin []float32) {
	pos = interpolatePosEmbed(p.table, p.side, p.hidden, gridH, gridW, p.merge)
	cos, sin = rotaryTables(gridH, gridW, p.merge, p.headDim, p.theta)
	return pos, cos, sin
}

// checkInput validates the grid and the patch buffer against the config.
func checkInput(cfg *config.Vision, patches []float32, gridH, gridW int) error {
	m := cfg.SpatialMergeSize
	if gridH <= 0 || gridW <= 0 {
		return fmt.Errorf("vision: patch grid %d×%d must be positive", gridH, gridW)
	}
	if gridH%m != 0 || gridW%m != 0 {
		return fmt.Errorf("vision: patch grid %d×%d is not a multiple of the spatial merge size %d", gridH, gridW, m)
	}
	if gridH > MaxPatches || gridW > MaxPatches || gridH*gridW > MaxPatches {
		return fmt.Errorf("vision: patch grid %d×%d exceeds the %d-patch limit", gridH, gridW, MaxPatches)
	}
	if want := gridH * gridW * cfg.PatchDim(); len(patches) != want {
		return fmt.Errorf("vision: patches hold %d values, want %d×%d patches × %d = %d",
			len(patches), gridH, gridW, cfg.PatchDim(), want)
	}
	return nil
}
