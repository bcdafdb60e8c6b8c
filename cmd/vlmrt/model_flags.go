package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/hub"
	"github.com/vlmrt/vlmrt/vision"
	"golang.org/x/term"
)

// modelFlags are the flags every command that loads a model shares.
type modelFlags struct {
	model     string
	precision string
	threads   int
	ctxLen    int
	kvF16     bool
	actInt8   bool
	acts      string
	backend   string
}

func (f *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "model: checkpoint or bundle `DIR`, or a Hugging Face repo id (ORG/NAME, downloaded to the HF cache)")
	fs.StringVar(&f.precision, "precision", "int8", "decoder weights: int8 (quantized at load) or f32")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0 = all cores)")
	fs.IntVar(&f.ctxLen, "ctx", 0, "context length in tokens (0 = 8192, or the model's maximum when smaller; at most the model's maximum)")
	fs.BoolVar(&f.kvF16, "kv-f16", false, "keep the KV cache in float16 (half the memory per token of context)")
	fs.StringVar(&f.acts, "acts", "auto", "CPU decode activation format: auto (int16 where the CPU has its kernels, else f32), f32 (the reference numerics), int16, int8 (opt-in; logits move and greedy text can differ); see the README")
	fs.BoolVar(&f.actInt8, "act-int8", false, "short for --acts int8")
	fs.StringVar(&f.backend, "backend", "", "engine: cpu, vulkan (a Vulkan GPU), metal (Apple GPU; darwin), or coreai (a Core AI bundle pair on macOS 27; darwin builds only); default $VLMRT_BACKEND, else cpu")
}

// open loads the model, drawing a progress bar when attached to a terminal.
func (f *modelFlags) open(ctx context.Context, stdout, stderr io.Writer, extra ...vlmrt.Option) (*vlmrt.Model, error) {
	if f.model == "" {
		return nil, usageError("--model is required")
	}
	if f.threads < 0 {
		return nil, usageError("--threads must be ≥ 0 (0 = all cores), got %d", f.threads)
	}
	if n := runtime.NumCPU(); f.threads > n {
		return nil, usageError("--threads %d exceeds this machine's %d CPUs", f.threads, n)
	}
	if f.ctxLen < 0 {
		return nil, usageError("--ctx must be ≥ 0 (0 = the model's default), got %d", f.ctxLen)
	}
	p, err := vlmrt.ParsePrecision(f.precision)
	if err != nil {
		return nil, usageError("--precision: %v", err)
	}
	opts := []vlmrt.Option{vlmrt.WithPrecision(p), vlmrt.WithThreads(f.threads), vlmrt.WithContextLength(f.ctxLen), vlmrt.WithBackend(vlmrt.Backend(f.backend))}
	if f.kvF16 {
		opts = append(opts, vlmrt.WithKVCacheF16())
	}
	acts, err := vlmrt.ParseActivations(f.acts)
	if err != nil {
		return nil, usageError("--acts: %v", err)
	}
	if f.actInt8 {
		acts = vlmrt.ActivationsInt8
	}
	opts = append(opts, vlmrt.WithActivations(acts))
	if bar := loadBar(stdout, stderr); bar != nil {
		defer bar.clear()
		opts = append(opts, vlmrt.WithProgress(func(lp vlmrt.LoadProgress) {
			name := lp.Stage
			if lp.Stage == "download" {
				name = "download " + lp.File
			}
			bar.update(hub.Progress{File: "loading " + name, Index: 1, Count: 1, Done: lp.Done, Total: lp.Total})
		}))
	}
	return vlmrt.Open(ctx, f.model, append(opts, extra...)...)
}

// loadBar returns a progress bar on stderr only when both stdout and stderr
// are terminals: piped output stays free of control characters.
func loadBar(stdout, stderr io.Writer) *progressBar {
	if f, ok := stdout.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return newProgressBar(stderr)
}

// genFlags are the generation flags `run` and `chat` share.
type genFlags struct {
	maxTokens     int
	temperature   float64
	topK          int
	topP          float64
	minP          float64
	repeatPenalty float64
	repeatWindow  int
	seed          uint64
	stop          stringList
	s1            bool
	resize        string
	// ResizeNative's budget (--min-pixels, --max-pixels, --max-image-tokens)
	minPixels, maxPixels int64
	maxImageTokens       int64
}

func (g *genFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&g.maxTokens, "max-tokens", 512, "maximum tokens to generate (0 = until end of turn or context)")
	fs.Float64Var(&g.temperature, "temperature", 0, "sampling temperature (0 = greedy, reproducible)")
	fs.IntVar(&g.topK, "top-k", 0, "keep the K most likely tokens (0 = off)")
	fs.Float64Var(&g.topP, "top-p", 0, "nucleus sampling threshold (0 or 1 = off)")
	fs.Float64Var(&g.minP, "min-p", 0, "drop tokens below this fraction of the best token's probability (0 = off)")
	fs.Float64Var(&g.repeatPenalty, "repeat-penalty", 0, "penalty for tokens in the recent window (1 or 0 = off; 1.1 is typical)")
	fs.IntVar(&g.repeatWindow, "repeat-window", 64, "tokens the repeat penalty looks back over")
	fs.Uint64Var(&g.seed, "seed", 0, "random seed for sampling (same seed, same output)")
	fs.Var(&g.stop, "stop", "stop `STRING` (repeatable; not printed)")
	fs.BoolVar(&g.s1, "s1", false, "prefill one token per step (the seed engine's S=1 path) instead of batched")
	fs.StringVar(&g.resize, "resize", "plain", "how images become model input: plain (stretch to the fixed 448×448 grid, 196 tokens), letterbox, crop, or native (keep the aspect ratio and size within --min-pixels..--max-pixels, one token per 32×32 pixels)")
	registerBudgetFlags(fs, &g.minPixels, &g.maxPixels, &g.maxImageTokens)
}

// registerBudgetFlags adds the native-resolution budget flags.
func registerBudgetFlags(fs *flag.FlagSet, minPixels, maxPixels, maxTokens *int64) {
	fs.Int64Var(minPixels, "min-pixels", 0, fmt.Sprintf("--resize native: smaller images are upscaled to this many pixels (0 = %d, or the ceiling when that is lower)", vision.DefaultMinImagePixels))
	fs.Int64Var(maxPixels, "max-pixels", vision.DefaultMaxImagePixels, "--resize native: larger images are brought down to this many pixels (default 448×448: a photo costs at most the fixed grid's 196 tokens)")
	fs.Int64Var(maxTokens, "max-image-tokens", 0, "--resize native: the same as --max-pixels N×1024 (one token per 32×32 pixels); 0 = use --max-pixels")
}

// budgetFrom checks the budget flags and folds --max-image-tokens in.
func budgetFrom(minPixels, maxPixels, maxTokens int64) (vision.Budget, error) {
	if maxTokens < 0 {
		return vision.Budget{}, usageError("--max-image-tokens must be ≥ 0")
	}
	if maxTokens > 0 {
		if maxTokens > 1<<30/1024 {
			return vision.Budget{}, usageError("--max-image-tokens %d is beyond any image", maxTokens)
		}
		maxPixels = maxTokens * 1024
	}
	// An unset floor (0) is vision.Budget's default, which never exceeds
	// the ceiling: asking for at most 48 tokens means at most 48.
	if minPixels < 0 || maxPixels <= 0 {
		return vision.Budget{}, usageError("--min-pixels and --max-pixels must be positive (--min-pixels 0: the default)")
	}
	if minPixels > maxPixels {
		return vision.Budget{}, usageError("--min-pixels %d exceeds --max-pixels %d", minPixels, maxPixels)
	}
	return vision.Budget{MinPixels: minPixels, MaxPixels: maxPixels}, nil
}

// imageBudget is the native-resolution budget the flags ask for.
func (g *genFlags) imageBudget() (vlmrt.ImageBudget, error) {
	b, err := budgetFrom(g.minPixels, g.maxPixels, g.maxImageTokens)
	return vlmrt.ImageBudget(b), err
}

func (g *genFlags) options() (vlmrt.GenerateOptions, vision.ResizeMode, error) {
	o := vlmrt.GenerateOptions{
		Sampling: vlmrt.Sampling{
			Temperature: float32(g.temperature), TopK: g.topK, TopP: float32(g.topP), MinP: float32(g.minP),
			RepeatPenalty: float32(g.repeatPenalty), RepeatWindow: g.repeatWindow, Seed: g.seed,
		},
		MaxTokens: g.maxTokens, Stop: g.stop, S1Prefill: g.s1,
	}
	if err := o.Sampling.Validate(); err != nil {
		return o, 0, usageError("%v", err)
	}
	if g.maxTokens < 0 {
		return o, 0, usageError("--max-tokens must be ≥ 0")
	}
	r, err := vision.ParseResizeMode(g.resize)
	if err != nil {
		return o, 0, usageError("--resize: %v", err)
	}
	return o, r, nil
}
