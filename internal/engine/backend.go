package engine

import (
	"context"
	"time"

	"github.com/vlmrt/vlmrt/vision"
)

// The seam between the generation loop (Session) and an execution engine.
//
// A Backend is one loaded model on one engine (the CPU, Core AI, a GPU). The
// generation loop never sees the backend's weights, KV cache or image
// buffers: it speaks token ids (image tokens as extension ids vocab+slot),
// explicit (t, h, w) rotary positions, and image handles. Everything here is
// the whole contract: a new backend implements Backend and Sequence (and,
// when it can, TokenPicker and BatchStepper) and calls Register.
//
// Ownership: slices passed in (ids, positions, patches) are only read, and
// only during the call; slices passed for output (logits) are written only
// during the call. A backend keeps no reference to either. Image handles
// and sequences are owned by the backend that made them and used only with
// it.
//
// Errors: input the backend cannot take wraps ErrUnsupportedInput; a
// sequence or context that is full wraps ErrContextOverflow; a cancelled
// ctx returns the context's error (checked at least between layers, so a
// cancel takes effect within one step).
//
// Thread-safety: a Backend is safe for concurrent use (many sequences, many
// goroutines); a Sequence is used by one goroutine at a time.

// ModelInfo is what the generation loop needs to know about a backend's model.
type ModelInfo struct {
	// Vocab is the vocabulary size V: logits rows have V entries, and ids
	// ≥ V are extension ids (vocab+slot: an image token of the sequence).
	Vocab int
	// MaxImages bounds the images one sequence may hold (the Core AI graphs
	// hold one); 0 means no limit beyond the context.
	MaxImages int
	// DecodeBytesPerToken is the weight bytes one decode step reads (0 when
	// the backend cannot say).
	DecodeBytesPerToken int64
	// Device says what runs the model, for statistics: the CPU kernel path
	// ("cpu avx512") or the GPU ("vulkan: llvmpipe (LLVM 19.1.7, 256 bits)").
	Device string
}

// Backend is an execution engine with one model loaded.
type Backend interface {
	// Info describes the loaded model; it does not change.
	Info() ModelInfo
	// NewSequence starts an empty conversation. It may load state (a Core
	// AI session loads its model), so it takes a context. The caller
	// closes the sequence.
	NewSequence(ctx context.Context) (Sequence, error)
	// EncodeImage runs the vision encoder on patches laid out on a
	// gridH×gridW patch grid (block-major, docs/design.md §2) and keeps
	// the result where the backend keeps images (host memory for the CPU,
	// device buffers for a GPU). It fails with ErrUnsupportedInput when the
	// model was loaded without its vision tower or the grid is not one the
	// backend takes. The handle may be added to any number of sequences.
	EncodeImage(ctx context.Context, patches []float32, gridH, gridW int) (ImageHandle, error)
	// Close releases the model (weights, worker threads, device memory).
	// It is called once, after every sequence is done; later calls on the
	// backend or its sequences fail or have undefined results, so owners
	// guard them (the root package returns ErrClosed).
	Close() error
}

// ImageHandle is an encoded image held by the backend that encoded it.
type ImageHandle interface {
	// Tokens is the number of merged image tokens (image pads) it fills.
	Tokens() int
	// Release frees what the handle holds (device memory) early; without
	// it the garbage collector does. Sequences that added the image keep
	// their own copy or reference, so releasing does not affect them.
	// Release is idempotent; a backend whose handles hold device memory
	// refuses AddImage of a released one.
	Release()
}

// Logits selects which logits rows a Forward writes.
type Logits int

const (
	// NoLogits skips the head (prefill chunks whose predictions are unused).
	NoLogits Logits = iota
	// LastLogits writes [1, vocab]: the prediction after the last token.
	LastLogits
	// AllLogits writes [len(ids), vocab]: row i predicts the token after ids[i].
	AllLogits
)

// Sequence is one conversation's decoder state on a backend: its KV cache
// and its static inputs (the embeddings and DeepStack rows of the images
// it holds). Not safe for concurrent use.
type Sequence interface {
	// Len is the number of tokens run (the next token's sequence index).
	Len() int
	// Truncate drops every token from sequence index n on, and every image
	// added while the sequence held n or more tokens (so Truncate(Len())
	// undoes AddImage calls not yet followed by a Forward: a failed turn
	// leaves nothing behind). A backend that cannot roll back returns an
	// error for an n it cannot honour and leaves the sequence as it was.
	Truncate(n int) error
	// AddImage places an image in the sequence's static inputs, once: its
	// embeddings become the rows of extension ids vocab+first ..
	// vocab+first+img.Tokens()-1 (slots are numbered across the whole
	// conversation, in the order images are added) and its DeepStack rows
	// are added after the early decoder layers for those ids. It runs no
	// token; the ids refer to the image in later Forward calls.
	AddImage(ctx context.Context, img ImageHandle) (first int, err error)
	// Forward runs ids at sequence indices Len() .. Len()+len(ids)-1 with
	// their explicit rotary positions (len(positions) == len(ids)) and
	// writes logits per want into logits ([vocab] or [len(ids), vocab]).
	// On error the sequence is left as it was whenever the backend can roll
	// back (otherwise a later Truncate or Forward reports it).
	Forward(ctx context.Context, ids []int32, positions [][3]int32, want Logits, logits []float32) error
	// Close releases the sequence's memory (KV cache, device buffers). It
	// is idempotent; the sequence is unusable afterwards.
	Close() error
}

// Stepper is implemented by a Sequence whose generated tokens compute
// differently from prompt tokens (the CPU's int16 activations,
// decoder.Model.Step): Step is Forward of one generated token with
// LastLogits. Without it a generated token runs through Forward.
type Stepper interface {
	Step(ctx context.Context, ids []int32, positions [][3]int32, logits []float32) error
}

// TokenPicker is implemented by a Sequence that can choose the next token
// itself (argmax or sampling on the device), so that one step moves one
// id in and one id out instead of a vocabulary of logits.
type TokenPicker interface {
	// CanPick reports whether the sequence picks tokens with these
	// settings exactly as Sampler would (a backend may support greedy only).
	CanPick(s Sampling) bool
	// ForwardPick is Forward with LastLogits followed by choosing the next
	// token by s from that row; u is the uniform draw in [0, 1) the host
	// Sampler would use (ignored by greedy), so a seeded run matches the
	// host. history is the conversation (for the repetition penalty). It
	// fails if the logits are not finite.
	ForwardPick(ctx context.Context, ids []int32, positions [][3]int32, s Sampling, history []int32, u float64) (int32, error)
}

// Step is one sequence's token in a BatchStepper step.
type Step struct {
	Seq Sequence
	ID  int32
	Pos [3]int32
}

// BatchStepper is implemented by a Backend that advances several of its
// sequences by one token each in one pass over the weights: the step of
// continuous batching (a server decoding many conversations at once). Each
// sequence keeps its own KV cache and images; only the weight reads are
// shared.
type BatchStepper interface {
	// StepBatch runs steps[i].ID at steps[i].Pos as the next token of
	// steps[i].Seq and writes its logits to row i of logits
	// ([len(steps), vocab]). The sequences must be distinct, made by this
	// backend, and not used elsewhere during the call. On error no
	// sequence has advanced.
	StepBatch(ctx context.Context, steps []Step, logits []float32) error
}

// HostImage is an image whose embeddings live in host memory: what the CPU
// backend encodes, and what any backend accepts when it can upload host
// embeddings (the Core AI backend reads its vision graph's output back as
// one).
type HostImage struct{ Out *vision.Output }

// Tokens is the number of image tokens.
func (h HostImage) Tokens() int {
	if h.Out == nil {
		return 0
	}
	return h.Out.Tokens
}

// Release drops nothing: host memory is the garbage collector's.
func (HostImage) Release() {}

// Image is one encoded image as a turn hands it to a Session.
type Image struct {
	Handle ImageHandle
	// Rows, Cols: the merged token grid (14×14 for the fixed grid).
	Rows, Cols int
	// EncodeTime is how long the vision encoder took.
	EncodeTime time.Duration
}

// Tokens is the number of image tokens (pads) the image occupies.
func (im *Image) Tokens() int { return im.Rows * im.Cols }

// Host returns the image's embeddings when they are in host memory, else nil.
func (im *Image) Host() *vision.Output {
	if h, ok := im.Handle.(HostImage); ok {
		return h.Out
	}
	return nil
}
