// Package engine is the generation loop: it turns a prompt (token ids plus
// encoded images) into streamed tokens on a loaded model. An Engine is one
// loaded model on one Backend (the seam every execution engine implements,
// see backend.go); a Session is one conversation: it owns its backend
// Sequence (the KV cache), so a new turn prefills only its new tokens, and
// any number of Sessions can run on one Engine concurrently.
//
// The engine works in the general form of docs/design.md §6: every token is
// a text id or an image-embedding row with an explicit (t, h, w) rotary
// position, so several images per conversation fall out naturally.
package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/tokenizer"
	"github.com/vlmrt/vlmrt/vision"
)

// Engine is a loaded model: immutable, shared by every Session.
type Engine struct {
	Config *config.Model
	// Backend runs the model (never nil).
	Backend   Backend
	Tokenizer *tokenizer.Tokenizer // nil: ids in, ids out (no text, no stop strings)
	// Grid is the fixed image grid patches are cut for (448×448 → 196 tokens).
	Grid vision.Grid
	// ContextLength bounds a Session's tokens (prompt + generated).
	ContextLength int
	// EOS ends a turn when generated (<|im_end|>, <|endoftext|>, ...).
	EOS []int32

	// closed is set by MarkClosed before the model is released: work
	// started afterwards fails with ErrClosed instead of reading freed
	// memory. (The owner must still not release while work runs: the root
	// package's Model holds a lock for that.)
	closed atomic.Bool
}

// DefaultContextLength caps the default context: the KV cache grows with
// use, but a bound keeps a runaway conversation from exhausting memory, and
// the memory check before loading counts a full one (the 4B's float32 cache
// at 8192 tokens is 2.4 GB; at 32768 it would be 9.7 GB, refusing the 4B on
// a 16 GB machine). ollama and llama.cpp default to a few thousand tokens
// too; --ctx / WithContextLength raise it up to the model's maximum.
const DefaultContextLength = 8192

// New binds an opened backend to the model's config and tokenizer (nil:
// ids in, ids out). contextLength 0 means the model's
// max_position_embeddings capped at DefaultContextLength; a length beyond
// the model's table is an ErrUnsupportedInput. Openers call it last.
func New(cfg *config.Model, tok *tokenizer.Tokenizer, be Backend, contextLength int) (*Engine, error) {
	if be == nil {
		return nil, fmt.Errorf("engine: no backend")
	}
	if err := checkSpecialIDs(cfg, tok); err != nil {
		return nil, err
	}
	if err := checkContextLength(cfg, contextLength); err != nil {
		return nil, err
	}
	e := &Engine{Config: cfg, Backend: be, Tokenizer: tok, Grid: FixedGrid(cfg.Vision), ContextLength: ContextLength(cfg, contextLength)}
	if tok != nil {
		e.EOS = tok.EOSIDs()
	} else {
		// Without tokenizer files, fall back to the ids config.json names.
		e.EOS = cfg.EOSTokenIDs
	}
	return e, nil
}

// ContextLength is the context a request for n tokens gets: n, or for 0
// the model's max_position_embeddings capped at DefaultContextLength.
func ContextLength(cfg *config.Model, n int) int {
	if n > 0 {
		return n
	}
	if n = min(max(cfg.Text.MaxPositions, 0), DefaultContextLength); n == 0 {
		n = DefaultContextLength
	}
	return n
}

// KVCacheBytes is one conversation's keys and values at n tokens: every
// layer keeps a key and a value row of kv_heads·head_dim per token, in
// float32 or (f16) float16.
func KVCacheBytes(t config.Text, n int, f16 bool) int64 {
	per := int64(4)
	if f16 {
		per = 2
	}
	return 2 * int64(t.NumLayers) * int64(t.NumKVHeads) * int64(t.HeadDim) * int64(n) * per
}

// checkContextLength refuses a context beyond the model's position table
// (checked before any weight is bound: positions past it are out of the
// model's range, and an absurd length would let the KV cache grow without
// bound).
func checkContextLength(cfg *config.Model, n int) error {
	if mp := cfg.Text.MaxPositions; mp > 0 && n > mp {
		return fmt.Errorf("%w: context length %d exceeds the model's max_position_embeddings %d", ErrUnsupportedInput, n, mp)
	}
	return nil
}

// Close marks the engine closed and releases the backend. The owner must
// not call it while work runs (the root package's Model holds a lock).
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	return e.Backend.Close()
}

// MarkClosed makes every later encode and turn fail with ErrClosed.
func (e *Engine) MarkClosed() { e.closed.Store(true) }

// checkOpen returns ErrClosed once the engine's model is released.
func (e *Engine) checkOpen() error {
	if e.closed.Load() {
		return ErrClosed
	}
	return nil
}

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
	merge := e.Config.Vision.SpatialMergeSize
	if merge <= 0 || gridH <= 0 || gridW <= 0 || gridH%merge != 0 || gridW%merge != 0 {
		return nil, fmt.Errorf("%w: a %d×%d patch grid is not a positive multiple of the merge size %d", ErrUnsupportedInput, gridH, gridW, merge)
	}
	start := time.Now()
	h, err := e.Backend.EncodeImage(ctx, patches, gridH, gridW)
	if err != nil {
		return nil, cancelled(err)
	}
	im := &Image{Handle: h, Rows: gridH / merge, Cols: gridW / merge, EncodeTime: time.Since(start)}
	if h.Tokens() != im.Tokens() {
		return nil, fmt.Errorf("engine: the backend encoded %d image tokens for a %d×%d merged grid", h.Tokens(), im.Rows, im.Cols)
	}
	return im, nil
}

// MaxImages is how many images one conversation may hold (0: no limit
// beyond the context length).
func (e *Engine) MaxImages() int { return e.Backend.Info().MaxImages }

// CPU returns the CPU backend's models when the engine runs on the CPU,
// else nil (expert use: benchmarks and tests that drive the decoder).
func (e *Engine) CPU() *CPU {
	c, _ := e.Backend.(*CPU)
	return c
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

// FixedGrid is the preprocessing grid for a vision config at
// config.FixedImageSize.
func FixedGrid(v config.Vision) vision.Grid {
	return vision.Grid{ImageSize: config.FixedImageSize, PatchSize: v.PatchSize, TemporalPatch: v.TemporalPatchSize, MergeSize: v.SpatialMergeSize}
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
