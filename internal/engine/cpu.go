package engine

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/memfit"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
	"github.com/vlmrt/vlmrt/tokenizer"
	"github.com/vlmrt/vlmrt/vision"
)

// CPU is the portable backend, the reference for all others:
// decoder.Model with a decoder.Cache per sequence, and vision.Encoder.
// Images are HostImage values; a sequence's static inputs are host slices.
type CPU struct {
	Decoder *decoder.Model
	Vision  *vision.Encoder // nil: loaded without the vision tower
	// KVCacheF16 makes new sequences keep their KV cache in float16.
	KVCacheF16 bool
	// Pool is the model's worker threads, shared by every sequence and
	// image encode of this model (started on first use, stopped by Close).
	Pool *kernels.Pool

	// contextLength bounds each sequence's KV cache allocation (the
	// memory check counts the cache at this length).
	contextLength int

	files   io.Closer // the mapped weights, closed by Close (nil: none)
	batches sync.Pool // *decoder.Batch scratch, reused by StepBatch
}

// LoadOptions controls NewCPU.
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
	// Threads sizes the model's worker pool (0 = GOMAXPROCS).
	Threads int
	// Acts is decode's activation format (decoder.Model.SetActs; the zero
	// value is the float32 reference, decoder.ActsAuto the CPU's best).
	Acts decoder.Acts
	// Progress, if set, is told each loading stage as it starts.
	Progress func(stage string)
}

// NewCPU binds a model's weights from src on the CPU backend.
func NewCPU(ctx context.Context, src weights.Source, cfg *config.Model, opt LoadOptions) (*CPU, error) {
	progress := opt.Progress
	if progress == nil {
		progress = func(string) {}
	}
	if err := checkContextLength(cfg, opt.ContextLength); err != nil {
		return nil, err
	}
	b := &CPU{KVCacheF16: opt.KVCacheF16, Pool: kernels.NewPool(opt.Threads), contextLength: ContextLength(cfg, opt.ContextLength)}
	var err error
	if !opt.NoVision {
		progress("vision encoder")
		if b.Vision, err = vision.LoadEncoder(ctx, src, cfg); err != nil {
			return nil, err
		}
		b.Vision.SetPool(b.Pool)
	}
	progress("decoder")
	if b.Decoder, err = decoder.Load(ctx, src, cfg, opt.Precision); err != nil {
		return nil, err
	}
	b.Decoder.SetPool(b.Pool)
	b.Decoder.SetActs(opt.Acts)
	return b, nil
}

// NewEngine binds a model's weights from src on the CPU backend and returns
// the engine over it. tok may be nil.
func NewEngine(ctx context.Context, src weights.Source, cfg *config.Model, tok *tokenizer.Tokenizer, opt LoadOptions) (*Engine, error) {
	if err := checkSpecialIDs(cfg, tok); err != nil {
		return nil, err
	}
	b, err := NewCPU(ctx, src, cfg, opt)
	if err != nil {
		return nil, err
	}
	return New(cfg, tok, b, opt.ContextLength)
}

// openCPU is the CPU backend's Opener: a checkpoint or a portable bundle's
// safetensors, mapped and bound.
func openCPU(ctx context.Context, req OpenRequest) (*Engine, error) {
	b, cfg, tok, err := LoadCPU(ctx, req)
	if err != nil {
		return nil, err
	}
	e, err := New(cfg, tok, b, req.ContextLength)
	if err != nil {
		b.Close()
		return nil, err
	}
	return e, nil
}

// LoadCPU loads the model req names on the CPU backend: its config, its
// tokenizer and its weights, mapped and bound. Other backends start from
// it too (the GPU engine uploads what it bound), so every backend reads a
// model by the same rules.
func LoadCPU(ctx context.Context, req OpenRequest) (*CPU, *config.Model, *tokenizer.Tokenizer, error) {
	return loadCPU(ctx, req, false)
}

// LoadForDevice is LoadCPU for a backend that moves the model to a device:
// the host memory check counts the weights only.
func LoadForDevice(ctx context.Context, req OpenRequest) (*CPU, *config.Model, *tokenizer.Tokenizer, error) {
	return loadCPU(ctx, req, true)
}

func loadCPU(ctx context.Context, req OpenRequest, onDevice bool) (*CPU, *config.Model, *tokenizer.Tokenizer, error) {
	if req.Progress == nil {
		req.Progress = func(Progress) {}
	}
	loc := req.Location
	cfg, err := loc.LoadConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	set, err := loc.OpenWeights()
	if err != nil {
		return nil, nil, nil, err
	}
	// Refuse a model that cannot fit before copying gigabytes into memory
	// (the OS would kill the process half-way instead). A model bound for
	// a device keeps its KV cache and scratch there (checked by the GPU
	// engine against the device's memory).
	need := memfit.Need{Weights: residentBytes(set, cfg.TieWordEmbeddings, req.Precision, req.NoVision)}
	if !onDevice {
		need.ContextLength = ContextLength(cfg, req.ContextLength)
		need.KVCache = KVCacheBytes(cfg.Text, need.ContextLength, req.KVCacheF16)
		need.Scratch = scratchBytes(cfg, need.ContextLength, req.NoVision)
	}
	if err := memfit.Check(fmt.Sprintf("%s in %s", req.Path, req.Precision), need); err != nil {
		set.Close()
		return nil, nil, nil, err
	}
	if loc.Tokenizer == "" {
		set.Close()
		return nil, nil, nil, fmt.Errorf("%s: no tokenizer files (tokenizer.json) found; vlmrt needs them to read prompts", req.Path)
	}
	tok, err := tokenizer.Load(loc.Tokenizer)
	if err == nil {
		err = checkSpecialIDs(cfg, tok)
	}
	if err != nil {
		set.Close()
		return nil, nil, nil, err
	}
	src := newProgressSource(set, req.Progress)
	acts := req.Acts
	if onDevice {
		acts = decoder.ActsFloat32 // the device computes decode; the host model is its source
	}
	b, err := NewCPU(ctx, src, cfg, LoadOptions{
		Precision: req.Precision, ContextLength: req.ContextLength, NoVision: req.NoVision, KVCacheF16: req.KVCacheF16, Threads: req.Threads,
		Acts: acts, Progress: func(stage string) { src.stage = stage },
	})
	if err != nil {
		set.Close()
		return nil, nil, nil, err
	}
	b.files = set
	return b, cfg, tok, nil
}

// Info implements Backend.
func (b *CPU) Info() ModelInfo {
	dev := "cpu " + kernels.Path()
	switch b.Decoder.Acts() {
	case decoder.ActsInt16:
		dev += ", int16 activations (" + kernels.Q8Q16Path() + ")"
		if b.Decoder.PrefillActs() == decoder.ActsInt16 {
			dev += ", int16 prefill"
		}
	case decoder.ActsInt8:
		dev += ", int8 activations (" + kernels.Q8Q8Path() + ")"
	}
	return ModelInfo{Vocab: b.Decoder.Vocab(), DecodeBytesPerToken: b.Decoder.WeightBytes(), Device: dev}
}

// NewSequence implements Backend; it cannot fail.
func (b *CPU) NewSequence(context.Context) (Sequence, error) {
	c := b.Decoder.NewCache()
	if b.KVCacheF16 {
		c = b.Decoder.NewCacheF16()
	}
	c.Limit = b.contextLength
	return &cpuSequence{m: b.Decoder, c: c, st: *decoder.TextOnly()}, nil
}

// EncodeImage implements Backend: the embeddings stay in host memory.
func (b *CPU) EncodeImage(ctx context.Context, patches []float32, gridH, gridW int) (ImageHandle, error) {
	if b.Vision == nil {
		return nil, fmt.Errorf("%w: this model has no vision encoder loaded", ErrUnsupportedInput)
	}
	out, err := b.Vision.Encode(ctx, patches, gridH, gridW)
	if err != nil {
		return nil, err
	}
	return HostImage{out}, nil
}

// Close stops the worker threads and unmaps the weights.
func (b *CPU) Close() error {
	b.Pool.Close()
	if b.files == nil {
		return nil
	}
	err := b.files.Close()
	b.files = nil
	return err
}

// StepBatch implements BatchStepper: every weight matrix is read once for
// the len(steps) tokens (the int8 GEMM path of batched prefill), attention
// runs per sequence on its own cache.
func (b *CPU) StepBatch(ctx context.Context, steps []Step, logits []float32) error {
	n := len(steps)
	caches := make([]*decoder.Cache, n)
	ids := make([]int32, n)
	pos := make([][3]int32, n)
	statics := make([]*decoder.Static, n)
	for i, st := range steps {
		s, ok := st.Seq.(*cpuSequence)
		if !ok || s.m != b.Decoder {
			return fmt.Errorf("engine: step %d: sequence %T was not made by this CPU backend", i, st.Seq)
		}
		caches[i], ids[i], pos[i], statics[i] = s.c, st.ID, st.Pos, &s.st
	}
	batch, _ := b.batches.Get().(*decoder.Batch)
	if batch == nil {
		batch = b.Decoder.NewBatch()
	}
	defer b.batches.Put(batch)
	return b.Decoder.ForwardBatch(ctx, batch, caches, ids, pos, statics, logits)
}

// cpuSequence is a decoder.Cache on its model with the host static inputs.
type cpuSequence struct {
	m  *decoder.Model
	c  *decoder.Cache
	st decoder.Static
	// added[i] is the sequence length when image i was added (Truncate
	// drops the images added at or after its n).
	added []int
	// firstSlot[i] is image i's first slot.
	firstSlot []int
}

func (s *cpuSequence) Len() int { return s.c.Len() }

func (s *cpuSequence) Truncate(n int) error {
	if err := s.c.Truncate(n); err != nil {
		return err
	}
	for i, at := range s.added {
		if at >= n {
			s.keepSlots(s.firstSlot[i])
			s.added, s.firstSlot = s.added[:i], s.firstSlot[:i]
			break
		}
	}
	return nil
}

// keepSlots shrinks the static inputs to their first slots image tokens.
// DeepStack rows are feature-major ([k*Slots + slot]), so they are compacted.
func (s *cpuSequence) keepSlots(slots int) {
	h, old := s.m.Hidden(), s.st
	st := decoder.Static{Slots: slots, RopeShiftStart: mrope.TextOnlyShiftStart, ImageEmbeds: old.ImageEmbeds[: slots*h : slots*h]}
	st.DeepstackEmbeds = make([]float32, s.m.DeepstackFeatures()*slots*h)
	for k := 0; k < s.m.DeepstackFeatures(); k++ {
		copy(st.DeepstackEmbeds[k*slots*h:(k+1)*slots*h], old.DeepstackEmbeds[k*old.Slots*h:])
	}
	s.st = st
}

// AddImage appends a host image's embeddings to the static inputs.
func (s *cpuSequence) AddImage(_ context.Context, img ImageHandle) (int, error) {
	hi, ok := img.(HostImage)
	if !ok || hi.Out == nil {
		return 0, fmt.Errorf("%w: the CPU backend takes images with host embeddings, got %T", ErrUnsupportedInput, img)
	}
	out, h, features := hi.Out, s.m.Hidden(), s.m.DeepstackFeatures()
	if len(out.ImageEmbeds) != out.Tokens*h || len(out.DeepstackEmbeds) != features*out.Tokens*h {
		return 0, fmt.Errorf("%w: an image of %d tokens has %d embedding and %d DeepStack values, want %d and %d (hidden %d, %d features)",
			ErrUnsupportedInput, out.Tokens, len(out.ImageEmbeds), len(out.DeepstackEmbeds), out.Tokens*h, features*out.Tokens*h, h, features)
	}
	old := s.st
	slots := old.Slots + out.Tokens
	st := decoder.Static{Slots: slots, RopeShiftStart: mrope.TextOnlyShiftStart}
	st.ImageEmbeds = append(slices.Clip(old.ImageEmbeds), out.ImageEmbeds...)
	st.DeepstackEmbeds = make([]float32, features*slots*h)
	for k := 0; k < features; k++ {
		dst := st.DeepstackEmbeds[k*slots*h:]
		copy(dst, old.DeepstackEmbeds[k*old.Slots*h:(k+1)*old.Slots*h])
		copy(dst[old.Slots*h:], out.DeepstackEmbeds[k*out.Tokens*h:(k+1)*out.Tokens*h])
	}
	s.st = st
	s.added, s.firstSlot = append(s.added, s.c.Len()), append(s.firstSlot, old.Slots)
	return old.Slots, nil
}

func (s *cpuSequence) Forward(ctx context.Context, ids []int32, positions [][3]int32, want Logits, logits []float32) error {
	if len(positions) != len(ids) {
		return fmt.Errorf("engine: %d positions for %d tokens (the seam takes explicit positions)", len(positions), len(ids))
	}
	dw, err := decoderLogits(want)
	if err != nil {
		return err
	}
	return s.m.Forward(ctx, s.c, ids, positions, &s.st, dw, logits)
}

// Step implements Stepper: a generated token in the model's activation
// format (decoder.Model.Step).
func (s *cpuSequence) Step(ctx context.Context, ids []int32, positions [][3]int32, logits []float32) error {
	if len(positions) != len(ids) {
		return fmt.Errorf("engine: %d positions for %d tokens (the seam takes explicit positions)", len(positions), len(ids))
	}
	return s.m.Step(ctx, s.c, ids, positions, &s.st, logits)
}

func (s *cpuSequence) Close() error { return nil }

// decoderLogits maps the seam's logits selector to the decoder's.
func decoderLogits(w Logits) (decoder.Logits, error) {
	switch w {
	case NoLogits:
		return decoder.NoLogits, nil
	case LastLogits:
		return decoder.LastLogits, nil
	case AllLogits:
		return decoder.AllLogits, nil
	}
	return 0, fmt.Errorf("engine: unknown logits mode %d", w)
}

// progressSource reports bytes of weights bound as the loaders fetch them.
type progressSource struct {
	*safetensors.Set
	fn          func(Progress)
	stage       string
	done, total int64
}

func newProgressSource(set *safetensors.Set, fn func(Progress)) *progressSource {
	p := &progressSource{Set: set, fn: fn}
	for _, name := range set.Names() {
		t, _ := set.Tensor(name)
		p.total += int64(len(t.Data))
	}
	return p
}

func (p *progressSource) Tensor(name string) (safetensors.Tensor, error) {
	t, err := p.Set.Tensor(name)
	if err == nil {
		p.done += int64(len(t.Data))
		p.fn(Progress{Stage: p.stage, File: name, Done: min(p.done, p.total), Total: p.total})
	}
	return t, err
}

var (
	_ weights.Source = (*progressSource)(nil)
	_ Backend        = (*CPU)(nil)
	_ BatchStepper   = (*CPU)(nil)
)

// scratchBytes estimates the per-step buffers: a sequence's prefill chunk
// (DefaultPrefillChunk tokens) (residual, attention and MLP rows, new keys and values),
// its attention scores over the context and its logits, and one image's
// encode at the fixed grid (the tower's rows and a score tile).
func scratchBytes(cfg *config.Model, contextLength int, noVision bool) int64 {
	t := cfg.Text
	const chunk = DefaultPrefillChunk
	rows := 3*t.HiddenSize + 2*t.NumHeads*t.HeadDim + 2*t.IntermediateSize + 2*t.NumKVHeads*t.HeadDim
	b := 4 * (int64(chunk)*int64(rows) + int64(contextLength) + int64(t.VocabSize))
	if !noVision {
		v := cfg.Vision
		n := int64(FixedGrid(v).NumPatches())
		b += 4 * (n*int64(6*v.HiddenSize+max(v.IntermediateSize, v.HiddenSize)) + 1<<20)
	}
	return b
}

// residentBytes estimates the memory loading takes beyond the mapped files:
// decoder linears and the head quantized to int8 with a float16 scale per
// 32 values (or widened to float32), norms and the vision tower widened to
// float32. The embedding and tensors already stored as int8 stay mapped
// and are paged in on use, so they do not count. The KV cache and scratch
// are counted apart (KVCacheBytes, scratchBytes).
func residentBytes(set *safetensors.Set, tied bool, p weights.Precision, noVision bool) int64 {
	var total int64
	for _, name := range set.Names() {
		t, err := set.Tensor(name)
		if err != nil {
			continue
		}
		n := int64(t.NumElements())
		linear := func() int64 {
			if p == weights.F32 {
				return 4 * n
			}
			return n + n/16 // int8 + one float16 scale per 32
		}
		switch {
		case t.DType == safetensors.I8 || strings.HasSuffix(name, ".scales"):
		case strings.HasPrefix(name, "model.visual."):
			if !noVision {
				total += 4 * n
			}
		case strings.HasSuffix(name, "embed_tokens.weight"):
			if tied {
				total += linear()
			}
		case len(t.Shape) == 2:
			total += linear()
		default:
			total += 4 * n
		}
	}
	return total
}
