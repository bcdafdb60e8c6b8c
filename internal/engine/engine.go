// Package runtime is the generation loop: it turns a prompt (token ids plus
// encoded images) into streamed tokens on a loaded model. A Session is one
// conversation: it owns its KV cache, so a new turn prefills only its new
// tokens, and any number of Sessions can run on one Engine concurrently.
//
// The runtime works in the general form of docs/design.md §6: every token is a
// text id or an image-embedding row with an explicit (t, h, w) rotary
// position, so several images per conversation fall out naturally.
package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/tokenizer"
	"github.com/vlmrt/vlmrt/vision"
)

// Engine is a loaded model: immutable, shared by every Session.
type Engine struct {
	Config *config.Model
	// Backend runs the model; nil means the CPU engine on Decoder and Vision.
	Backend Backend
	// Decoder and Vision are the CPU engine's models (nil under another Backend).
	Decoder   *decoder.Model
	Vision    *vision.Encoder      // nil: text-only use
	Tokenizer *tokenizer.Tokenizer // nil: ids in, ids out (no text, no stop strings)
	// Grid is the fixed image grid patches are cut for (448×448 → 196 tokens).
	Grid vision.Grid
	// ContextLength bounds a Session's tokens (prompt + generated).
	ContextLength int
	// EOS ends a turn when generated (<|im_end|>, <|endoftext|>, ...).
	EOS []int32
	// KVCacheF16 makes new Sessions keep their KV cache in float16.
	KVCacheF16 bool

	// closed is set by MarkClosed before the weights are unmapped: work
	// started afterwards fails with ErrClosed instead of reading freed
	// memory. (The owner must still not unmap while work runs: the root
	// package's Model holds a lock for that.)
	closed atomic.Bool
}

// MarkClosed makes every later encode and turn fail with ErrClosed.
func (e *Engine) MarkClosed() { e.closed.Store(true) }

// checkOpen returns ErrClosed once the engine's weights are released.
func (e *Engine) checkOpen() error {
	if e.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Image is one encoded image, ready to be placed in a sequence.
type Image struct {
	Embeds *vision.Output
	// Rows, Cols: the merged token grid (14×14 for the fixed grid).
	Rows, Cols int
	// EncodeTime is how long the vision encoder took.
	EncodeTime time.Duration
}

// Tokens is the number of image tokens (pads) the image occupies.
func (im *Image) Tokens() int { return im.Rows * im.Cols }

// EncodePatches runs the vision encoder once on an image's patches for the
// engine's grid (docs/design.md §2 step 2).
func (e *Engine) EncodePatches(ctx context.Context, patches []float32) (*Image, error) {
	return e.EncodeGrid(ctx, patches, e.Grid.PatchesPerSide(), e.Grid.PatchesPerSide())
}

// EncodeGrid encodes patches laid out on a gridH×gridW patch grid
// (block-major), for native-resolution input.
func (e *Engine) EncodeGrid(ctx context.Context, patches []float32, gridH, gridW int) (*Image, error) {
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	if e.Backend == nil && e.Vision == nil {
		return nil, fmt.Errorf("%w: this model has no vision encoder loaded", ErrUnsupportedInput)
	}
	merge := e.Config.Vision.SpatialMergeSize
	start := time.Now()
	out, err := e.backend().Encode(ctx, patches, gridH, gridW)
	if err != nil {
		return nil, cancelled(err)
	}
	return &Image{Embeds: out, Rows: gridH / merge, Cols: gridW / merge, EncodeTime: time.Since(start)}, nil
}

// backend is the engine that runs the model.
func (e *Engine) backend() Backend {
	if e.Backend != nil {
		return e.Backend
	}
	return cpuBackend{e}
}

// MaxImages is how many images one conversation may hold (0: no limit
// beyond the context length).
func (e *Engine) MaxImages() int {
	if l, ok := e.backend().(ImageLimiter); ok {
		return l.MaxImages()
	}
	return 0
}

// isEOS reports whether id ends a turn.
func (e *Engine) isEOS(id int32) bool {
	for _, x := range e.EOS {
		if x == id {
			return true
		}
	}
	return false
}

// LoadOptions controls NewEngine.
type LoadOptions struct {
	Precision weights.Precision
	// ContextLength bounds each Session (0 = the model's max_position_embeddings,
	// capped at DefaultContextLength to keep KV memory modest).
	ContextLength int
	// NoVision skips the vision tower (text-only use, less memory).
	NoVision bool
	// KVCacheF16 stores each Session's keys and values as float16 (half the
	// cache memory, values rounded once when stored).
	KVCacheF16 bool
	// Progress, if set, is told each loading stage as it starts.
	Progress func(stage string)
}

// DefaultContextLength caps the default context: the KV cache grows with
// use, but a bound keeps a runaway conversation from exhausting memory.
const DefaultContextLength = 32768

// NewEngine binds a model's weights from src. tok may be nil.
func NewEngine(ctx context.Context, src weights.Source, cfg *config.Model, tok *tokenizer.Tokenizer, opt LoadOptions) (*Engine, error) {
	progress := opt.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if err := checkSpecialIDs(cfg, tok); err != nil {
		return nil, err
	}
	// Checked before any weight is bound: positions past the model's table
	// are out of its range, and an absurd length would let the KV cache grow
	// without bound.
	if mp := cfg.Text.MaxPositions; mp > 0 && opt.ContextLength > mp {
		return nil, fmt.Errorf("%w: context length %d exceeds the model's max_position_embeddings %d", ErrUnsupportedInput, opt.ContextLength, mp)
	}
	e := &Engine{Config: cfg, Tokenizer: tok, Grid: FixedGrid(cfg.Vision), KVCacheF16: opt.KVCacheF16}
	var err error
	if !opt.NoVision {
		progress("vision encoder")
		if e.Vision, err = vision.LoadEncoder(ctx, src, cfg); err != nil {
			return nil, err
		}
	}
	progress("decoder")
	if e.Decoder, err = decoder.Load(ctx, src, cfg, opt.Precision); err != nil {
		return nil, err
	}
	e.ContextLength = opt.ContextLength
	if e.ContextLength <= 0 {
		e.ContextLength = min(max(cfg.Text.MaxPositions, 0), DefaultContextLength)
		if e.ContextLength == 0 {
			e.ContextLength = DefaultContextLength
		}
	}
	if tok != nil {
		e.EOS = tok.EOSIDs()
	} else {
		// Without tokenizer files, fall back to the ids config.json names.
		e.EOS = cfg.EOSTokenIDs
	}
	return e, nil
}

// FixedImageSize is the side, in pixels, of the fixed grid every image is
// resized to (docs/design.md §2: 448×448 → 28×28 patches → 14×14 = 196 tokens).
const FixedImageSize = 448

// FixedGrid is the preprocessing grid for a vision config at FixedImageSize.
func FixedGrid(v config.Vision) vision.Grid {
	return vision.Grid{ImageSize: FixedImageSize, PatchSize: v.PatchSize, TemporalPatch: v.TemporalPatchSize, MergeSize: v.SpatialMergeSize}
}

// checkSpecialIDs rejects tokenizer files that do not belong to the
// checkpoint: the session finds image pads by config.json's id, so a
// tokenizer that spells <|image_pad|> with another id would make every image
// prompt fail later with a confusing pad count.
func checkSpecialIDs(cfg *config.Model, tok *tokenizer.Tokenizer) error {
	if tok == nil {
		return nil
	}
	for _, s := range []struct {
		token, key string
		id         int32
	}{
		{"<|image_pad|>", "image_token_id", cfg.ImageTokenID},
		{"<|vision_start|>", "vision_start_token_id", cfg.VisionStartID},
		{"<|vision_end|>", "vision_end_token_id", cfg.VisionEndID},
	} {
		if id, ok := tok.TokenID(s.token); ok && id != s.id {
			return fmt.Errorf("config.json %s is %d but the tokenizer's %s is %d: the tokenizer files do not belong to this checkpoint", s.key, s.id, s.token, id)
		}
	}
	return nil
}
