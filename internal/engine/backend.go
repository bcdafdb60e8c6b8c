package engine

import (
	"context"

	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/vision"
)

// Sequence is one conversation's decoder state (its KV cache) on a Backend:
// what a Session needs from the decoder. Forward has decoder.Model.Forward's
// contract: ids occupy sequence indices Len() .. Len()+len(ids)-1, positions
// are their explicit (t, h, w) rotary positions, st holds the images'
// embeddings (image i's slots numbered across the conversation), and on
// error the sequence is left as it was whenever the backend can roll back.
type Sequence interface {
	Len() int
	// Truncate drops every token from sequence index n on. A backend that
	// cannot roll back returns an error for the n it cannot honour.
	Truncate(n int) error
	Forward(ctx context.Context, ids []int32, positions [][3]int32, st *decoder.Static, want decoder.Logits, logits []float32) error
}

// Backend is an execution engine for one loaded model: the decoder's sizes,
// new conversations, and the vision encoder.
type Backend interface {
	Vocab() int
	Hidden() int
	DeepstackFeatures() int
	// NewSequence starts an empty conversation. It may load state (a Core
	// AI session loads its model), so it takes a context.
	NewSequence(ctx context.Context) (Sequence, error)
	// Encode runs the vision encoder on patches laid out on a gridH×gridW
	// patch grid (block-major).
	Encode(ctx context.Context, patches []float32, gridH, gridW int) (*vision.Output, error)
}

// ImageLimiter is implemented by a Backend that holds a bounded number of
// images per conversation (the Core AI graphs hold one), so a turn that
// would exceed it fails before any image is encoded.
type ImageLimiter interface {
	MaxImages() int
}

// cpuBackend is the portable engine: decoder.Model with a decoder.Cache per
// conversation, and vision.Encoder. It is the Engine itself (one pointer,
// so converting it to a Backend allocates nothing).
type cpuBackend struct{ e *Engine }

func (b cpuBackend) Vocab() int             { return b.e.Decoder.Vocab() }
func (b cpuBackend) Hidden() int            { return b.e.Decoder.Hidden() }
func (b cpuBackend) DeepstackFeatures() int { return b.e.Decoder.DeepstackFeatures() }

func (b cpuBackend) NewSequence(context.Context) (Sequence, error) {
	if b.e.KVCacheF16 {
		return cpuSequence{b.e.Decoder, b.e.Decoder.NewCacheF16()}, nil
	}
	return cpuSequence{b.e.Decoder, b.e.Decoder.NewCache()}, nil
}

func (b cpuBackend) Encode(ctx context.Context, patches []float32, gridH, gridW int) (*vision.Output, error) {
	return b.e.Vision.Encode(ctx, patches, gridH, gridW)
}

// cpuSequence is a decoder.Cache on its model.
type cpuSequence struct {
	m *decoder.Model
	c *decoder.Cache
}

func (s cpuSequence) Len() int             { return s.c.Len() }
func (s cpuSequence) Truncate(n int) error { return s.c.Truncate(n) }

func (s cpuSequence) Forward(ctx context.Context, ids []int32, positions [][3]int32, st *decoder.Static, want decoder.Logits, logits []float32) error {
	return s.m.Forward(ctx, s.c, ids, positions, st, want, logits)
}
