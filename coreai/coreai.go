// Package coreai adds the Core AI backend to vlmrt: importing it for its
// side effect registers it with the engine (engine.Register; this package
// does not import the root package), so that
// vlmrt.WithBackend(vlmrt.BackendCoreAI) runs a Core AI bundle pair's .aimodel graphs through the C-ABI bridge (internal/coreai,
// macOS 27). It takes the seed contract only — one fixed-grid image per
// conversation, the exported int8 graph — and refuses anything else with
// vlmrt.ErrUnsupportedInput before any work.
//
//	import _ "github.com/vlmrt/vlmrt/coreai"
//
// It is a separate package so that programs not using Core AI link none of
// it (the bridge is loaded through purego, which links the platform's
// dynamic loader).
package coreai

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/coreai"
	"github.com/vlmrt/vlmrt/internal/coreaibackend"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// name is the backend's registered name (vlmrt.BackendCoreAI).
const name = "coreai"

func init() { engine.Register(name, open) }

// open opens a Core AI bundle pair's .aimodel graphs through the bridge. A
// Core AI pair may carry no config.json, so the few fields the runtime
// needs are synthesized from the bundle metadata, the bridge's sizes and the
// tokenizer's special ids.
func open(ctx context.Context, req engine.OpenRequest) (*engine.Engine, error) {
	loc := req.Location
	if req.Precision == weights.F32 {
		return nil, fmt.Errorf("%w: backend %q runs the bundle's exported int8 graph; float32 precision is only available on backend %q", engine.ErrUnsupportedInput, name, "cpu")
	}
	if loc.Kind != bundle.KindCoreAI {
		return nil, fmt.Errorf("%w: backend %q runs a Core AI bundle pair; %s is a %s", engine.ErrUnsupportedInput, name, req.Path, loc.Kind)
	}
	if loc.Decoder.Asset == "" || (!req.NoVision && loc.Vision.Asset == "") {
		return nil, fmt.Errorf("%w: %s: the Core AI model assets (.aimodel) are not present, so backend %q cannot run it", engine.ErrUnsupportedInput, loc.Decoder.Dir, name)
	}
	if loc.Tokenizer == "" {
		return nil, fmt.Errorf("%s: no tokenizer files (tokenizer/tokenizer.json) found; vlmrt needs them to read prompts", loc.Decoder.Dir)
	}
	tok, err := tokenizer.Load(loc.Tokenizer)
	if err != nil {
		return nil, err
	}
	visionDir := loc.Vision.Dir
	if req.NoVision {
		visionDir = ""
	}
	req.Progress(engine.Progress{Stage: "coreai"})
	be, err := coreaibackend.Open(ctx, loc.Decoder.Dir, visionDir)
	if err != nil {
		return nil, err
	}
	e, err := coreAIEngine(loc, be, tok, req.ContextLength)
	if err != nil {
		be.Close()
		return nil, err
	}
	return e, nil
}

// coreAIEngine builds the runtime engine over an opened backend.
func coreAIEngine(loc *bundle.Location, be *coreaibackend.Backend, tok *tokenizer.Tokenizer, contextLen int) (*engine.Engine, error) {
	info := be.BridgeInfo()
	lang := loc.Decoder.Meta.Language
	if *lang.VocabSize != info.Vocab {
		return nil, fmt.Errorf("%s: metadata.json language.vocab_size is %d but the Core AI graph's vocabulary is %d: not the same model", loc.Decoder.Dir, *lang.VocabSize, info.Vocab)
	}
	cfg := &config.Model{ModelType: "qwen3_vl", Text: config.Text{VocabSize: info.Vocab, HiddenSize: info.Hidden, MaxPositions: *lang.MaxContextLength}}
	for _, s := range []struct {
		token string
		id    *int32
	}{{"<|image_pad|>", &cfg.ImageTokenID}, {"<|vision_start|>", &cfg.VisionStartID}, {"<|vision_end|>", &cfg.VisionEndID}} {
		id, ok := tok.TokenID(s.token)
		if !ok {
			return nil, fmt.Errorf("%s: the tokenizer has no %s token, which a Qwen3-VL prompt needs", loc.Tokenizer, s.token)
		}
		*s.id = id
	}
	v, err := coreAIVision(info)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", loc.Decoder.Dir, err)
	}
	cfg.Vision = v
	ctxLen := min(info.MaxContext, *lang.MaxContextLength)
	if contextLen > ctxLen {
		return nil, fmt.Errorf("%w: context length %d exceeds the Core AI graph's %d tokens", engine.ErrUnsupportedInput, contextLen, ctxLen)
	}
	if contextLen > 0 {
		ctxLen = contextLen
	}
	return engine.New(cfg, tok, be, ctxLen)
}

// coreAIVision derives the preprocessing grid's numbers from the vision
// graph's input [Patches, PatchDim] = [(448/P)², 3·2·P²] and its Slots =
// GridSide² merged tokens; without a vision bundle, the seed's (P 16,
// merge 2), checked against Slots.
func coreAIVision(info coreai.Info) (config.Vision, error) {
	const channels, temporal = 3, 2
	v := config.Vision{InChannels: channels, TemporalPatchSize: temporal, PatchSize: 16, OutHiddenSize: info.Hidden}
	if info.PatchDim > 0 {
		p2 := info.PatchDim / (channels * temporal)
		v.PatchSize = 0
		for p := 1; p*p <= p2; p++ {
			if p*p == p2 && p2*channels*temporal == info.PatchDim {
				v.PatchSize = p
			}
		}
		if v.PatchSize == 0 {
			return v, fmt.Errorf("the vision graph's patch width %d is not 3·2·P² for an integer patch size P", info.PatchDim)
		}
	}
	perSide := config.FixedImageSize / v.PatchSize
	if perSide*v.PatchSize != config.FixedImageSize || info.GridSide == 0 || perSide%info.GridSide != 0 {
		return v, fmt.Errorf("the graph's %d×%d image tokens do not tile the %d-pixel fixed grid with %d-pixel patches", info.GridSide, info.GridSide, config.FixedImageSize, v.PatchSize)
	}
	v.SpatialMergeSize = perSide / info.GridSide
	if info.Patches > 0 && info.Patches != perSide*perSide {
		return v, fmt.Errorf("the vision graph takes %d patches, want %d for a %d-pixel grid of %d-pixel patches", info.Patches, perSide*perSide, config.FixedImageSize, v.PatchSize)
	}
	return v, nil
}
