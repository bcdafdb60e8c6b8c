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
	"fmt"
	"github.com/vlmrt/vlmrt/internal/memfit"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/hub"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// Precision selects how decoder weights are held.
type Precision = weights.Precision

const (
	// Int8 quantizes the decoder linears and head (the default; docs/design.md §3).
	Int8 = weights.Int8
	// F32 keeps every weight in float32 (reference numerics, 4× the memory).
	F32 = weights.F32
)

// Backend names an execution engine.
type Backend string

const (
	// BackendAuto picks the best available engine (today: the CPU).
	BackendAuto Backend = ""
	// BackendCPU is the portable pure-Go engine, the reference for all others.
	BackendCPU Backend = "cpu"
	// BackendMetal is the Apple GPU engine; this build does not include it
	// yet, and asking for it is an ErrUnsupportedInput.
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
	Stage       string
	File        string
	Done, Total int64
}

type options struct {
	precision   Precision
	backend     Backend
	threads     int
	contextLen  int
	noVision    bool
	kvF16       bool
	progress    func(LoadProgress)
	hub         *hub.Options
	tokenizerID string
}

// Option configures Open.
type Option func(*options)

// WithPrecision selects Int8 (default) or F32 weights.
func WithPrecision(p Precision) Option { return func(o *options) { o.precision = p } }

// WithBackend forces an engine (default: automatic, which is the CPU).
func WithBackend(b Backend) Option { return func(o *options) { o.backend = b } }

// WithThreads sets the CPU worker count (default GOMAXPROCS). The CPU
// kernels share one worker pool per process, so the last setting wins.
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithContextLength bounds each conversation in tokens (default: the
// model's maximum, capped at engine.DefaultContextLength).
func WithContextLength(n int) Option { return func(o *options) { o.contextLen = n } }

// WithKVCacheF16 keeps each Chat's KV cache in float16: half the memory
// per token of context, keys and values rounded once when stored.
func WithKVCacheF16() Option { return func(o *options) { o.kvF16 = true } }

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
	files  io.Closer

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
	// DecodeBytesPerToken is the weight bytes one decode step reads.
	DecodeBytesPerToken int64
}

// Open loads a model. path is a Hugging Face checkpoint directory, a
// converted vlmrt bundle, a Core AI bundle pair with converted weights, or a
// Hugging Face repository id ("Qwen/Qwen3-VL-4B-Instruct") fetched into the
// standard Hugging Face cache (files already there are reused).
func Open(ctx context.Context, path string, opts ...Option) (*Model, error) {
	o := options{progress: func(LoadProgress) {}}
	for _, opt := range opts {
		opt(&o)
	}
	var opener BackendOpener
	switch o.backend {
	case BackendAuto, BackendCPU:
	default:
		if opener = registeredBackend(o.backend); opener == nil {
			switch o.backend {
			case BackendCoreAI:
				return nil, fmt.Errorf(`%w: backend %q is not included in this build of vlmrt (import _ "github.com/vlmrt/vlmrt/coreai" to add it; the vlmrt command has it on macOS)`, ErrUnsupportedInput, o.backend)
			case BackendMetal:
				return nil, fmt.Errorf("%w: backend %q is not included in this build of vlmrt", ErrUnsupportedInput, o.backend)
			}
			return nil, fmt.Errorf("%w: unknown backend %q (want %q or %q)", ErrUnsupportedInput, o.backend, BackendCPU, BackendCoreAI)
		}
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
	if o.contextLen < 0 {
		return nil, fmt.Errorf("%w: context length %d must be ≥ 0 (0 = the model's default)", ErrUnsupportedInput, o.contextLen)
	}
	if o.threads > 0 {
		kernels.SetThreads(o.threads)
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
	if opener != nil {
		return openOnBackend(ctx, opener, path, loc, &o)
	}
	cfg, err := loc.LoadConfig()
	if err != nil {
		return nil, err
	}
	set, err := loc.OpenWeights()
	if err != nil {
		return nil, err
	}
	// Refuse a model that cannot fit before copying gigabytes into memory
	// (the OS would kill the process half-way instead).
	if err := memfit.Check(fmt.Sprintf("%s in %s", local, o.precision), residentBytes(set, cfg.TieWordEmbeddings, o.precision, o.noVision)); err != nil {
		set.Close()
		return nil, err
	}
	var tok *tokenizer.Tokenizer
	if loc.Tokenizer != "" {
		if tok, err = tokenizer.Load(loc.Tokenizer); err != nil {
			set.Close()
			return nil, err
		}
	}
	src := newProgressSource(set, o.progress)
	e, err := engine.NewEngine(ctx, src, cfg, tok, engine.LoadOptions{
		Precision: o.precision, ContextLength: o.contextLen, NoVision: o.noVision, KVCacheF16: o.kvF16,
		Progress: func(stage string) { src.stage = stage },
	})
	if err != nil {
		set.Close()
		return nil, err
	}
	if tok == nil {
		set.Close()
		return nil, fmt.Errorf("%s: no tokenizer files (tokenizer.json) found; vlmrt needs them to read prompts", local)
	}
	m := &Model{engine: e, files: set, info: Info{
		Path: path, Source: loc.Describe(), Backend: BackendCPU, Precision: o.precision, Config: cfg,
		ContextLength: e.ContextLength, ImageTokens: e.Grid.NumTokens(), DecodeBytesPerToken: e.Decoder.WeightBytes(),
	}}
	return m, nil
}

// openOnBackend opens the model with a registered backend's opener.
func openOnBackend(ctx context.Context, open BackendOpener, path string, loc *bundle.Location, o *options) (*Model, error) {
	e, closer, err := open(ctx, BackendRequest{
		Path: path, Location: loc, Precision: o.precision, NoVision: o.noVision,
		ContextLength: o.contextLen, Progress: o.progress,
	})
	if err != nil {
		return nil, err
	}
	info := Info{
		Path: path, Source: loc.Describe(), Backend: o.backend, Precision: o.precision, Config: e.Config,
		ContextLength: e.ContextLength, ImageTokens: e.Grid.NumTokens(),
	}
	if e.Decoder != nil { // a backend that runs the CPU decoder's weights
		info.DecodeBytesPerToken = e.Decoder.WeightBytes()
	}
	return &Model{engine: e, files: closer, info: info}, nil
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

// Engine exposes the underlying runtime engine (expert use: raw ids,
// precomputed patches, benchmarks). After Close its sessions and encodes
// fail with ErrClosed; a zero Model has none (nil).
func (m *Model) Engine() *engine.Engine {
	if m == nil {
		return nil
	}
	return m.engine
}

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
	m.engine.MarkClosed()
	return m.files.Close()
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

// progressSource reports bytes of weights bound as the loaders fetch them.
type progressSource struct {
	*safetensors.Set
	fn          func(LoadProgress)
	stage       string
	done, total int64
}

func newProgressSource(set *safetensors.Set, fn func(LoadProgress)) *progressSource {
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
		p.fn(LoadProgress{Stage: p.stage, File: name, Done: min(p.done, p.total), Total: p.total})
	}
	return t, err
}

var _ weights.Source = (*progressSource)(nil)

// residentBytes estimates the memory loading takes beyond the mapped files:
// decoder linears and the head quantized to int8 with a float16 scale per
// 32 values (or widened to float32), norms and the vision tower widened to
// float32. The embedding and tensors already stored as int8 stay mapped
// and are paged in on use, so they do not count; the KV cache grows with
// the conversation and is bounded by the context length.
func residentBytes(set *safetensors.Set, tied bool, p Precision, noVision bool) int64 {
	var total int64
	for _, name := range set.Names() {
		t, err := set.Tensor(name)
		if err != nil {
			continue
		}
		n := int64(t.NumElements())
		linear := func() int64 {
			if p == F32 {
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
