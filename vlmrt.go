// Package vlmrt runs Qwen3-VL vision-language models on the local machine:
// an image and a question in, an answer streamed out.
//
//	m, err := vlmrt.Open(ctx, "Qwen/Qwen3-VL-4B-Instruct") // or a local directory
//	if err != nil { ... }
//	defer m.Close()
//	chat := m.NewChat()
//	for tok, err := range chat.Send(ctx, vlmrt.User(vlmrt.ImageFile("cat.jpg"), vlmrt.Text("What is this?"))) {
//		if err != nil { ... }
//		fmt.Print(tok.Text)
//	}
//
// A Model is immutable once opened and serves any number of Chats
// concurrently; each Chat owns its conversation state (the KV cache), so a
// new turn prefills only its new tokens.
package vlmrt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/hub"
	"github.com/vlmrt/vlmrt/internal/bridge"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// Backend names an execution engine.
type Backend string

const (
	// BackendAuto picks the engine: the one the VLMRT_BACKEND environment
	// variable names when it is set; else Metal on Apple silicon when a
	// Metal device opens; else the CPU. Info.Backend says which ran.
	BackendAuto Backend = ""
	// BackendCPU is the portable pure-Go engine, the reference for all others.
	BackendCPU Backend = "cpu"
	// BackendVulkan is the GPU engine on a Vulkan device (internal/gpu over
	// internal/vulkan, no cgo): the first discrete GPU, else integrated,
	// else a CPU driver such as lavapipe; VLMRT_VULKAN_DEVICE picks another
	// by index or name. A machine without a Vulkan loader or device gets an
	// ErrUnsupportedInput naming what is missing.
	BackendVulkan Backend = "vulkan"
	// BackendMetal is the GPU engine on Apple's Metal (internal/gpu over
	// internal/metal, no cgo): the same kernels as Vulkan, translated to
	// Metal Shading Language. darwin only; it has not yet run on a Mac (see
	// the README). Elsewhere asking for it is an ErrUnsupportedInput.
	BackendMetal Backend = "metal"
	// BackendCoreAI runs a Core AI bundle pair's .aimodel graphs through the
	// C-ABI bridge (internal/coreai; macOS 27). It takes the seed contract
	// only: one fixed-grid image per conversation, int8 as exported; other
	// input is an ErrUnsupportedInput before any work. Never the default.
	BackendCoreAI Backend = "coreai"
)

// LoadProgress reports model loading: Stage names what is happening
// ("download", "decoder", ...); Done/Total are bytes (Total may be 0).
type LoadProgress struct {
	Stage, File string
	Done, Total int64
}

type options struct {
	precision  Precision
	backend    Backend
	threads    int
	contextLen int
	noVision   bool
	kvF16      bool
	acts       Activations
	progress   func(LoadProgress)
	hub        *hub.Options
}

// Option configures Open.
type Option func(*options)

// WithPrecision selects Int8 (default) or F32 weights.
func WithPrecision(p Precision) Option { return func(o *options) { o.precision = p } }

// WithBackend forces an engine (default: automatic, which is the CPU).
func WithBackend(b Backend) Option { return func(o *options) { o.backend = b } }

// WithThreads sets the CPU worker count (default GOMAXPROCS, at most the
// machine's CPU count). Each opened model owns its pool of workers, started
// on first use and stopped by Close; the Chats of one model share it, each
// kernel call using every thread in turn.
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithContextLength bounds each conversation in tokens (default: the
// model's maximum, capped at engine.DefaultContextLength).
func WithContextLength(n int) Option { return func(o *options) { o.contextLen = n } }

// WithKVCacheF16 keeps each Chat's KV cache in float16: half the memory
// per token of context, keys and values rounded once when stored.
func WithKVCacheF16() Option { return func(o *options) { o.kvF16 = true } }

// Activations is the CPU engine's decode activation format: what each
// int8 linear layer of a one-token step multiplies its weights with.
// Prefill and the vision tower always use float32 activations.
type Activations int

const (
	// ActivationsAuto (the default) is ActivationsInt16 where the CPU has
	// its kernels (amd64 with AVX2 or AVX-512), else ActivationsFloat32.
	ActivationsAuto Activations = iota
	// ActivationsFloat32 widens the int8 weights to float32: the
	// reference numerics, which the oracle's goldens pin to 1e-3.
	ActivationsFloat32
	// ActivationsInt16 quantizes each layer's input per 32-value block to
	// int16 (rounding at most 1.5e-5 of the block's largest value) and
	// multiplies with exact integer dot products: every golden token of
	// the reference, logits within 0.01 of it (README "Activation
	// formats"), and decode at the memory bus where the float kernel
	// falls short of it.
	ActivationsInt16
	// ActivationsInt8 quantizes to int8 (as llama.cpp's Q8_0): an opt-in,
	// not the reference numerics; logits move by the activations' rounding
	// and greedy outputs can differ (README "Activation formats").
	ActivationsInt8
)

// WithActivations selects the CPU decode's activation format (default
// ActivationsAuto). Other backends refuse int16 and int8 with
// ErrUnsupportedInput.
func WithActivations(a Activations) Option { return func(o *options) { o.acts = a } }

// WithInt8Activations is WithActivations(ActivationsInt8).
func WithInt8Activations() Option { return WithActivations(ActivationsInt8) }

// ParseActivations reads a format as the CLI spells it: auto, f32 (or
// float32), int16, int8.
func ParseActivations(s string) (Activations, error) {
	a, err := decoder.ParseActs(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnsupportedInput, err)
	}
	switch a {
	case decoder.ActsFloat32:
		return ActivationsFloat32, nil
	case decoder.ActsInt16:
		return ActivationsInt16, nil
	case decoder.ActsInt8:
		return ActivationsInt8, nil
	}
	return ActivationsAuto, nil
}

// decoderActs maps a to the engine's format.
func (a Activations) decoderActs() (decoder.Acts, error) {
	switch a {
	case ActivationsAuto:
		return decoder.ActsAuto, nil
	case ActivationsFloat32:
		return decoder.ActsFloat32, nil
	case ActivationsInt16:
		return decoder.ActsInt16, nil
	case ActivationsInt8:
		return decoder.ActsInt8, nil
	}
	return 0, fmt.Errorf("%w: unknown activation format %d", ErrUnsupportedInput, int(a))
}

// WithoutVision skips loading the vision tower (text-only use).
func WithoutVision() Option { return func(o *options) { o.noVision = true } }

// WithProgress receives loading progress (downloads and weight binding).
func WithProgress(fn func(LoadProgress)) Option { return func(o *options) { o.progress = fn } }

// WithHub sets how model names are downloaded (default: hub.OptionsFromEnv).
func WithHub(h hub.Options) Option { return func(o *options) { o.hub = &h } }

// Model is an opened model. It is safe for concurrent use.
type Model struct {
	engine *engine.Engine
	info   Info

	mu     sync.RWMutex // generations hold it shared; Close exclusively
	closed bool
}

// Info describes an opened model.
type Info struct {
	Path      string // where it was loaded from
	Source    string // what the path was (checkpoint, bundle, ...)
	Backend   Backend
	Precision Precision
	Config    *config.Model
	// ContextLength is the per-conversation token limit.
	ContextLength int
	// ImageTokens is the number of tokens one image occupies (196).
	ImageTokens int
	// PatchGrid is the fixed grid's side in patches (28) and PatchDim the
	// values of one patch (1536): the shape [PatchGrid², PatchDim] of an
	// ImagePatches tensor.
	PatchGrid, PatchDim int
	// DecodeBytesPerToken is the weight bytes one decode step reads.
	DecodeBytesPerToken int64
	// Device says what runs the model: the CPU kernel path ("cpu avx512")
	// or the GPU ("vulkan: NVIDIA GeForce RTX 4090").
	Device string
}

// Open loads a model. path is a Hugging Face checkpoint directory, a
// converted vlmrt bundle, a Core AI bundle pair with converted weights, or a
// Hugging Face repository id ("Qwen/Qwen3-VL-4B-Instruct") fetched into the
// standard Hugging Face cache (files already there are reused). Every
// backend, the CPU included, is opened the same way: by name from the
// engine's registry.
func Open(ctx context.Context, path string, opts ...Option) (*Model, error) {
	o := options{progress: func(LoadProgress) {}}
	for _, opt := range opts {
		opt(&o)
	}
	auto := o.backend == BackendAuto
	if auto {
		o.backend = Backend(os.Getenv("VLMRT_BACKEND"))
		auto = o.backend == BackendAuto
	}
	if auto {
		o.backend = BackendCPU
		explicit := o.acts == ActivationsInt16 || o.acts == ActivationsInt8 // CPU-only formats
		if goruntime.GOOS == "darwin" && !explicit && goruntime.GOARCH == "arm64" {
			o.backend = BackendMetal // falls back to the CPU below when no Metal device opens
		}
	}
	if _, ok := engine.Lookup(string(o.backend)); !ok {
		switch o.backend {
		case BackendCoreAI:
			return nil, fmt.Errorf(`%w: backend %q is not included in this build of vlmrt (import _ "github.com/vlmrt/vlmrt/coreai" to add it; the vlmrt command has it on macOS)`, ErrUnsupportedInput, o.backend)
		}
		return nil, fmt.Errorf("%w: unknown backend %q (this build has %q)", ErrUnsupportedInput, o.backend, engine.Backends())
	}
	if o.threads < 0 {
		return nil, fmt.Errorf("%w: threads %d must be ≥ 0 (0 = all cores)", ErrUnsupportedInput, o.threads)
	}
	// More kernel threads than CPUs only adds hand-offs and memory (each
	// thread keeps scratch buffers): 100,000 made a tiny run 10× slower.
	if n := goruntime.NumCPU(); o.threads > n {
		return nil, fmt.Errorf("%w: threads %d exceeds this machine's %d CPUs", ErrUnsupportedInput, o.threads, n)
	}
	if err := kernels.PathError(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedInput, err)
	}
	acts, err := o.acts.decoderActs()
	if err != nil {
		return nil, err
	}
	if o.contextLen < 0 {
		return nil, fmt.Errorf("%w: context length %d must be ≥ 0 (0 = the model's default)", ErrUnsupportedInput, o.contextLen)
	}
	local := path
	if _, err := os.Stat(path); err != nil && hub.IsRepoID(path) {
		dir, err := download(ctx, path, &o)
		if err != nil {
			return nil, err
		}
		local = dir
	}
	loc, err := bundle.Resolve(local)
	if err != nil {
		return nil, err
	}
	req := engine.OpenRequest{
		Path: path, Location: loc, Precision: o.precision.weights(), NoVision: o.noVision,
		ContextLength: o.contextLen, KVCacheF16: o.kvF16, Threads: o.threads, Acts: acts,
		Progress: func(p engine.Progress) { o.progress(LoadProgress(p)) },
	}
	e, err := engine.Open(ctx, string(o.backend), req)
	if auto && o.backend != BackendCPU && errors.Is(err, gpu.ErrUnavailable) {
		// Automatic choice: no usable GPU (found before any weight was
		// read), so the CPU engine runs.
		o.backend = BackendCPU
		e, err = engine.Open(ctx, string(o.backend), req)
	}
	if err != nil {
		return nil, err
	}
	return newModel(e, Info{Path: path, Source: loc.Describe(), Backend: o.backend, Precision: o.precision}), nil
}

// newModel wraps an opened engine; info names where it came from, the
// rest is the engine's.
func newModel(e *engine.Engine, info Info) *Model {
	info.Config, info.ContextLength, info.ImageTokens = e.Config, e.ContextLength, e.Grid.NumTokens()
	info.PatchGrid, info.PatchDim, info.DecodeBytesPerToken = e.Grid.PatchesPerSide(), e.Grid.PatchDim(), e.Backend.Info().DecodeBytesPerToken
	info.Device = e.Backend.Info().Device
	return &Model{engine: e, info: info}
}

func init() {
	bridge.Model = func(e *engine.Engine, name string) any {
		return newModel(e, Info{Path: name, Source: "an engine built in process", Backend: BackendCPU})
	}
}

// download fetches a repository's model files into the Hugging Face cache.
func download(ctx context.Context, repo string, o *options) (string, error) {
	h := hub.OptionsFromEnv()
	if o.hub != nil {
		h = *o.hub
	}
	if len(h.Include) == 0 {
		h.Include = []string{"*.json", "*.safetensors", "*.txt", "*.jinja", "tokenizer/*", "gpu-pipelined/*/metadata.json", "gpu-pipelined/*/tokenizer/*", "gpu-pipelined/*/*.safetensors"}
	}
	user := h.Progress
	h.Progress = func(p hub.Progress) {
		o.progress(LoadProgress{Stage: "download", File: p.File, Done: p.Done, Total: p.Total})
		if user != nil {
			user(p)
		}
	}
	dir, err := hub.Download(ctx, repo, h)
	if err != nil {
		return "", err
	}
	// The Core AI repository keeps its bundles under gpu-pipelined/.
	if st, err := os.Stat(filepath.Join(dir, "gpu-pipelined")); err == nil && st.IsDir() {
		return filepath.Join(dir, "gpu-pipelined"), nil
	}
	return dir, nil
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

// Tokenizer returns the model's tokenizer (nil for a zero Model).
func (m *Model) Tokenizer() *tokenizer.Tokenizer {
	if m == nil || m.engine == nil {
		return nil
	}
	return m.engine.Tokenizer
}

// Close releases the model's memory. It waits for running generations to
// finish; afterwards every call returns ErrClosed.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.engine == nil { // a zero Model: nothing to release
		return nil
	}
	return m.engine.Close()
}

// acquire marks a generation in flight; release with m.mu.RUnlock.
func (m *Model) acquire() error {
	if m == nil {
		return fmt.Errorf("%w: nil Model (use vlmrt.Open)", ErrClosed)
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	if m.engine == nil {
		m.mu.RUnlock()
		return fmt.Errorf("%w: a zero Model holds no model (use vlmrt.Open)", ErrClosed)
	}
	return nil
}
