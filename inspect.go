package vlmrt

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/tokenizer"
	"github.com/vlmrt/vlmrt/vision"
)

// Report summarizes a checkpoint or bundle without loading its weights.
type Report struct {
	Path         string        `json:"path"`
	Source       string        `json:"source"`
	Config       *config.Model `json:"-"`
	Architecture string        `json:"architecture"`
	// Parameter counts by part.
	DecoderParams   int64 `json:"decoder_params"`
	EmbeddingParams int64 `json:"embedding_params"`
	HeadParams      int64 `json:"head_params"`
	VisionParams    int64 `json:"vision_params"`
	TiedHead        bool  `json:"tied_head"`
	// DTypes counts tensors per stored dtype; Prequantized is true when the
	// decoder linears are stored as int8 (a converted bundle).
	DTypes       map[string]int `json:"dtypes"`
	Prequantized bool           `json:"prequantized"`
	// DecodeBytesPerToken is what one int8 decode step reads: the int8
	// decoder linears and head (with their fp16 scales) plus one embedding row.
	DecodeBytesPerToken int64 `json:"decode_bytes_per_token"`
	// MemoryInt8 estimates resident memory in the default int8 mode:
	// int8 decoder + head, mapped 16-bit embedding, float32 vision tower.
	MemoryInt8 int64 `json:"memory_int8_bytes"`
	// KVBytesPerToken is the float32 KV cache per token of context.
	KVBytesPerToken int64    `json:"kv_bytes_per_token"`
	TokenizerFound  bool     `json:"tokenizer_found"`
	Problems        []string `json:"problems"`
}

// Inspect reads path's configuration and tensor index (the weights stay
// mapped and untouched) and reports sizes, costs and problems found.
func Inspect(ctx context.Context, path string) (*Report, error) {
	loc, err := bundle.Resolve(path)
	if err != nil {
		return nil, err
	}
	r := &Report{Path: path, Source: loc.Describe(), DTypes: map[string]int{}}
	cfg, err := loc.LoadConfig()
	if err != nil {
		return nil, err
	}
	r.Config, r.Architecture, r.TiedHead = cfg, cfg.Architecture, cfg.TieWordEmbeddings
	if loc.Tokenizer != "" {
		if _, err := tokenizer.Load(loc.Tokenizer); err != nil {
			r.Problems = append(r.Problems, "tokenizer: "+err.Error())
		} else {
			r.TokenizerFound = true
		}
	} else {
		r.Problems = append(r.Problems, "no tokenizer.json found (prompts cannot be tokenized)")
	}
	set, err := loc.OpenWeights()
	if err != nil {
		return nil, err
	}
	defer set.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, name := range set.Names() {
		t, _ := set.Tensor(name)
		r.DTypes[string(t.DType)]++
		n := int64(t.NumElements())
		switch {
		case strings.HasSuffix(name, ".scales"):
		case strings.HasPrefix(name, "model.visual."):
			r.VisionParams += n
		case name == "model.language_model.embed_tokens.weight":
			r.EmbeddingParams += n
		case name == "lm_head.weight":
			r.HeadParams += n
		case strings.HasPrefix(name, "model.language_model."):
			r.DecoderParams += n
			if t.DType == safetensors.I8 {
				r.Prequantized = true
			}
		default:
			r.Problems = append(r.Problems, fmt.Sprintf("unexpected tensor %q", name))
		}
	}
	r.Problems = append(r.Problems, checkTensors(set, cfg)...)
	t := cfg.Text
	q8 := func(rows, cols int) int64 {
		return int64(rows)*int64(cols) + 2*int64(rows)*int64(quant.BlocksPerRow(cols))
	}
	qd, kvd := t.NumHeads*t.HeadDim, t.NumKVHeads*t.HeadDim
	layer := q8(qd, t.HiddenSize) + 2*q8(kvd, t.HiddenSize) + q8(t.HiddenSize, qd) + 2*q8(t.IntermediateSize, t.HiddenSize) + q8(t.HiddenSize, t.IntermediateSize)
	head := q8(t.VocabSize, t.HiddenSize)
	r.DecodeBytesPerToken = int64(t.NumLayers)*layer + head + 2*int64(t.HiddenSize)
	r.MemoryInt8 = int64(t.NumLayers)*layer + head + 2*int64(t.VocabSize)*int64(t.HiddenSize) + 4*r.VisionParams
	r.KVBytesPerToken = int64(t.NumLayers) * 2 * int64(kvd) * 4
	return r, nil
}

// checkTensors verifies that every tensor the engines bind (the decoder
// and vision manifests) exists with the configured shape; an int8 tensor's
// shape is the float weight's.
func checkTensors(set *safetensors.Set, cfg *config.Model) []string {
	var problems []string
	for _, s := range append(decoder.Manifest(cfg), vision.Manifest(cfg)...) {
		tn, err := set.Tensor(s.Name)
		switch {
		case err != nil && s.Optional:
		case err != nil:
			problems = append(problems, fmt.Sprintf("missing tensor %q", s.Name))
		case !slices.Equal(tn.Shape, s.Shape):
			problems = append(problems, fmt.Sprintf("tensor %q has shape %v, want %v", s.Name, tn.Shape, s.Shape))
		}
	}
	sort.Strings(problems)
	return problems
}

// String renders the report for a terminal.
func (r *Report) String() string {
	var b strings.Builder
	t, v := r.Config.Text, r.Config.Vision
	gb := func(n int64) string { return fmt.Sprintf("%.2f GB", float64(n)/1e9) }
	mp := func(n int64) string { return fmt.Sprintf("%.1fM", float64(n)/1e6) }
	fmt.Fprintf(&b, "path:          %s\nsource:        %s\narchitecture:  %s\n", r.Path, r.Source, r.Architecture)
	fmt.Fprintf(&b, "decoder:       %d layers, hidden %d, %d heads / %d kv heads × %d, MLP %d, vocab %d, head %s\n",
		t.NumLayers, t.HiddenSize, t.NumHeads, t.NumKVHeads, t.HeadDim, t.IntermediateSize, t.VocabSize, map[bool]string{true: "tied", false: "untied"}[r.TiedHead])
	fmt.Fprintf(&b, "vision:        depth %d, hidden %d, %d heads, DeepStack after blocks %v, %d tokens per 448×448 image\n",
		v.Depth, v.HiddenSize, v.NumHeads, v.DeepstackIndexes, bundle.FixedGridTokens(&v))
	fmt.Fprintf(&b, "parameters:    decoder %s, embedding %s, head %s, vision %s\n", mp(r.DecoderParams), mp(r.EmbeddingParams), mp(r.HeadParams), mp(r.VisionParams))
	dtypes := make([]string, 0, len(r.DTypes))
	for d, n := range r.DTypes {
		dtypes = append(dtypes, fmt.Sprintf("%s×%d", d, n))
	}
	sort.Strings(dtypes)
	quantized := "quantized to int8 at load (blocks of 32, fp16 absmax scales)"
	if r.Prequantized {
		quantized = "stored int8 (mapped, no quantization at load)"
	}
	fmt.Fprintf(&b, "storage:       %s; decoder linears %s\n", strings.Join(dtypes, " "), quantized)
	fmt.Fprintf(&b, "decode reads:  %s per token (int8 body + head)\n", gb(r.DecodeBytesPerToken))
	fmt.Fprintf(&b, "memory (int8): about %s + %.1f MB KV cache per 1k tokens\n", gb(r.MemoryInt8), float64(r.KVBytesPerToken)*1024/1e6)
	fmt.Fprintf(&b, "tokenizer:     %v\n", map[bool]string{true: "found", false: "missing"}[r.TokenizerFound])
	if len(r.Problems) == 0 {
		b.WriteString("problems:      none\n")
	} else {
		fmt.Fprintf(&b, "problems:      %d\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	return b.String()
}
