// Package coreaibackend runs the runtime's general form on Apple's Core AI
// through internal/coreai, translating it to the seed contract the Core AI
// graphs take: one fixed-grid image (Slots = 196) per conversation, one
// token per step (a batched Forward runs token by token), image tokens as
// extension ids, and the rope shift derived from where the image's slot 0
// sits (mrope.RopeShift). The runtime passes explicit positions; they must
// equal what the graph derives (mrope.SelfLocate), or the call fails with
// engine.ErrUnsupportedInput before any bridge call.
//
// Memory: every coreai.Session loads its own copy of the model in the
// current bridge (4.7 GB for the 4B seed). The Backend owns one session for
// the vision encoder (guarded by a mutex: images are encoded one at a time)
// and each conversation opens one more on its first turn; Close releases
// them all, and a conversation dropped without Close releases its session
// when it is garbage collected.
package coreaibackend

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"

	"github.com/vlmrt/vlmrt/internal/coreai"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/mrope"
	"github.com/vlmrt/vlmrt/vision"
)

// Backend is an opened Core AI bundle pair; it implements engine.Backend.
type Backend struct {
	decoderDir string
	info       coreai.Info

	encMu sync.Mutex // one image at a time through enc
	enc   *coreai.Session

	mu     sync.Mutex
	open   map[*coreai.Session]struct{} // conversations' sessions
	closed bool
}

// Open opens the decoder bundle and, unless visionDir is "", the vision
// bundle (one session for encoding images, which also reports the sizes).
func Open(ctx context.Context, decoderDir, visionDir string) (*Backend, error) {
	enc, err := coreai.Open(ctx, decoderDir, visionDir)
	if err != nil {
		return nil, mapErr(err)
	}
	b := &Backend{decoderDir: decoderDir, info: enc.Info(), open: map[*coreai.Session]struct{}{}}
	if visionDir != "" {
		b.enc = enc
	} else if err := enc.Close(); err != nil { // only needed for Info
		return nil, err
	}
	return b, nil
}

// BridgeInfo is the bundle pair's sizes, as the bridge reports them.
func (b *Backend) BridgeInfo() coreai.Info { return b.info }

// Info implements engine.Backend. MaxImages is 1: the graph's extension
// ids address one image's slots.
func (b *Backend) Info() engine.ModelInfo {
	return engine.ModelInfo{Vocab: b.info.Vocab, MaxImages: 1, Device: "coreai"}
}

// EncodeImage runs the vision graph on one fixed-grid image and reads the
// embeddings back from the static inputs it wrote: the handle is an
// engine.HostImage, uploaded to a conversation's session when its first
// image token runs.
func (b *Backend) EncodeImage(ctx context.Context, patches []float32, gridH, gridW int) (engine.ImageHandle, error) {
	if b.enc == nil {
		return nil, fmt.Errorf("%w: the Core AI vision bundle was not opened (text-only)", engine.ErrUnsupportedInput)
	}
	if side := 2 * b.info.GridSide; gridH != side || gridW != side {
		return nil, fmt.Errorf("%w: a %d×%d patch grid; the Core AI vision graph takes the fixed %d×%d grid (448×448 pixels, %d image tokens), not native resolution (use --resize plain, or vlmrt.ResizePlain)",
			engine.ErrUnsupportedInput, gridH, gridW, side, side, b.info.Slots)
	}
	b.encMu.Lock()
	defer b.encMu.Unlock()
	// The session holds one image: clear the previous one first.
	if err := b.enc.Reset(ctx); err != nil {
		return nil, mapErr(err)
	}
	if err := b.enc.EncodeImage(ctx, patches); err != nil {
		return nil, mapErr(err)
	}
	st, err := b.enc.Static(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return engine.HostImage{Out: &vision.Output{ImageEmbeds: st.ImageEmbeds, DeepstackEmbeds: st.DeepstackEmbeds, Tokens: b.info.Slots}}, nil
}

// NewSequence opens a text-only session for one conversation (the image
// embeddings come through its static inputs).
func (b *Backend) NewSequence(ctx context.Context) (engine.Sequence, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("coreai backend: %w", coreai.ErrClosed)
	}
	s, err := coreai.Open(ctx, b.decoderDir, "")
	if err != nil {
		return nil, mapErr(err)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = s.Close()
		return nil, fmt.Errorf("coreai backend: %w", coreai.ErrClosed)
	}
	b.open[s] = struct{}{}
	b.mu.Unlock()
	seq := &sequence{b: b, s: s, shiftStart: mrope.TextOnlyShiftStart, scratch: make([]float32, b.info.Vocab), addedAt: -1}
	goruntime.AddCleanup(seq, b.release, s)
	return seq, nil
}

// release closes a conversation's session once it is unreachable.
func (b *Backend) release(s *coreai.Session) {
	b.mu.Lock()
	_, ok := b.open[s]
	delete(b.open, s)
	b.mu.Unlock()
	if ok {
		_ = s.Close()
	}
}

// Close closes every session; later calls fail with coreai.ErrClosed.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	for s := range b.open {
		errs = append(errs, s.Close())
	}
	clear(b.open)
	if b.enc != nil {
		b.encMu.Lock()
		errs = append(errs, b.enc.Close())
		b.encMu.Unlock()
	}
	return errors.Join(errs...)
}

// mapErr gives coreai's errors the runtime's meaning.
func mapErr(err error) error {
	switch {
	case errors.Is(err, coreai.ErrContract):
		return fmt.Errorf("%w: %w", engine.ErrUnsupportedInput, err)
	case errors.Is(err, coreai.ErrContextFull):
		return fmt.Errorf("%w: %w", engine.ErrContextOverflow, err)
	}
	return err
}

var _ engine.Backend = (*Backend)(nil)
