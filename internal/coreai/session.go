package coreai

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/vlmrt/vlmrt/mrope"
)

// Info are the sizes of an opened bundle pair, as the bridge reports them.
type Info struct {
	Vocab      int // V: logits width and the first extension id
	Hidden     int // width of an image_embeds / deepstack row
	Slots      int // image tokens per image: 196 for the fixed grid
	Deepstack  int // DeepStack features: 3
	MaxContext int // KV capacity in tokens
	// Patches × PatchDim is the vision input (784 × 1536); both 0 when no
	// vision bundle was opened.
	Patches, PatchDim int
	// GridSide is the merged grid's side (14): √Slots.
	GridSide int
}

// Session is one conversation on one opened bundle pair: the bridge handle
// with its KV cache and static inputs, plus the host-side state needed to
// check the seed contract before every call. Its methods are safe to call
// from several goroutines; they run one at a time.
type Session struct {
	mu   sync.Mutex
	b    *bridge
	h    uintptr // 0 once closed
	info Info

	n int32 // tokens in the KV cache
	// The image in the static inputs: present once EncodeImage or SetStatic
	// wrote embeddings; start is the position of its slot 0 (-1 until that
	// token is stepped) and next the slot the next image token must be.
	image      bool
	imageStart int32
	imageNext  int32
	// The rope shift the static inputs hold.
	shiftStart, shiftAmount int32
	// broken is set when a bridge call that changes state failed: what the
	// bridge holds is then unknown, so only Reset and Close are allowed.
	broken error
}

// Open loads the bridge (once per process: $VLMRT_COREAI_BRIDGE, else
// libvlmrt_coreai.dylib beside the executable or in the standard places)
// and opens the decoder LanguageBundle and vision bundle directories
// (visionBundle "" for text-only use) as a new Session.
func Open(ctx context.Context, decoderBundle, visionBundle string) (*Session, error) {
	b, err := loadDefault()
	if err != nil {
		return nil, err
	}
	return b.openSession(ctx, decoderBundle, visionBundle)
}

type openResult struct {
	h   uintptr
	err error
}

func (b *bridge) openSession(ctx context.Context, decoderBundle, visionBundle string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("coreai: open: %w", err)
	}
	if decoderBundle == "" {
		return nil, fmt.Errorf("coreai: open: no decoder bundle given")
	}
	for _, p := range []string{decoderBundle, visionBundle} {
		if strings.IndexByte(p, 0) >= 0 {
			return nil, fmt.Errorf("coreai: open: bundle path %q contains a NUL byte", p)
		}
	}
	// The load can take tens of seconds (cold GPU specialization) and
	// cannot be interrupted, so it runs on its own goroutine: a cancelled
	// caller returns at once, and the handle is closed when the load ends.
	done := make(chan openResult, 1)
	go func() {
		var h uintptr
		err := call("vlmrt_coreai_open", func(e *byte, n uintptr) int32 {
			return b.open(decoderBundle, visionBundle, &h, e, n)
		})
		done <- openResult{h, err}
	}()
	var r openResult
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil && r.h != 0 {
				_ = call("vlmrt_coreai_close", func(e *byte, n uintptr) int32 { return b.close(r.h, e, n) })
			}
		}()
		return nil, fmt.Errorf("coreai: open %s: %w", decoderBundle, ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.h == 0 {
		return nil, &BridgeError{Call: "vlmrt_coreai_open", Status: statusInvalid, Message: "reported success but returned no handle"}
	}
	s := &Session{b: b, h: r.h}
	s.textOnly()
	if err := s.readInfo(); err != nil {
		_ = call("vlmrt_coreai_close", func(e *byte, n uintptr) int32 { return b.close(r.h, e, n) })
		return nil, err
	}
	return s, nil
}

// readInfo fetches and validates the sizes: everything the contract checks
// rely on must be self-consistent before the first call that uses them.
func (s *Session) readInfo() error {
	var c infoC
	if err := call("vlmrt_coreai_info", func(e *byte, n uintptr) int32 { return s.b.info(s.h, &c, e, n) }); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return &BridgeError{Call: "vlmrt_coreai_info", Status: statusInvalid, Message: fmt.Sprintf(format, args...)}
	}
	side := isqrt(int(c.ImageTokens))
	switch {
	case c.VocabSize <= 0 || c.HiddenSize <= 0 || c.MaxContext <= 0:
		return bad("vocab_size %d, hidden_size %d, max_context %d: all must be positive", c.VocabSize, c.HiddenSize, c.MaxContext)
	case c.ImageTokens <= 0 || side*side != int(c.ImageTokens):
		return bad("image_tokens %d is not a square grid", c.ImageTokens)
	case c.DeepstackCount < 0:
		return bad("deepstack_count %d is negative", c.DeepstackCount)
	case int64(c.VocabSize)+int64(c.ImageTokens) > 1<<31-1:
		return bad("vocab_size %d + image_tokens %d overflow int32 extension ids", c.VocabSize, c.ImageTokens)
	case (c.PatchCount == 0) != (c.PatchDim == 0),
		c.PatchCount != 0 && (c.PatchCount != 4*c.ImageTokens || c.PatchDim < 0):
		return bad("patches [%d, %d] do not merge 2×2 into %d image tokens", c.PatchCount, c.PatchDim, c.ImageTokens)
	}
	s.info = Info{
		Vocab: int(c.VocabSize), Hidden: int(c.HiddenSize), Slots: int(c.ImageTokens), Deepstack: int(c.DeepstackCount),
		MaxContext: int(c.MaxContext), Patches: int(c.PatchCount), PatchDim: int(c.PatchDim), GridSide: side,
	}
	return nil
}

func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

// textOnly sets the host-side state of an empty conversation, matching
// what the bridge holds after open and reset.
func (s *Session) textOnly() {
	s.n = 0
	s.image, s.imageStart, s.imageNext = false, -1, 0
	s.shiftStart, s.shiftAmount = mrope.TextOnlyShiftStart, 0
	s.broken = nil
}

// Info returns the bundle pair's sizes.
func (s *Session) Info() Info { return s.info }

// Len is the number of tokens in the KV cache: the position the next Step
// must take.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.n)
}

// usable is the check every state-changing method starts with.
func (s *Session) usable(ctx context.Context, what string) error {
	if s.h == 0 {
		return fmt.Errorf("coreai: %s: %w", what, ErrClosed)
	}
	if s.broken != nil {
		return fmt.Errorf("coreai: %s: the session needs Reset after a failed call: %w", what, s.broken)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("coreai: %s: %w", what, err)
	}
	return nil
}

// Reset empties the KV cache and restores text-only static inputs; it also
// recovers a session after a failed call.
func (s *Session) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == 0 {
		return fmt.Errorf("coreai: reset: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("coreai: reset: %w", err)
	}
	if err := call("vlmrt_coreai_reset", func(e *byte, n uintptr) int32 { return s.b.reset(s.h, e, n) }); err != nil {
		return err
	}
	s.textOnly()
	return nil
}

// Close frees the bridge handle. Calling it again is a no-op returning nil;
// every other method then fails with ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == 0 {
		return nil
	}
	h := s.h
	s.h = 0 // the ABI invalidates the handle even when close reports an error
	return call("vlmrt_coreai_close", func(e *byte, n uintptr) int32 { return s.b.close(h, e, n) })
}
