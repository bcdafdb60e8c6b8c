package vlmrt

import (
	"time"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Stats describe one turn: vision encode time, prompt tokens, prefill time
// and rate, time to first token, decode rate, total (as the seed card reports).
// It is the engine's statistics field for field, declared here so the API
// names no internal type; the conversions below stop compiling if the two
// drift apart.
type Stats struct {
	Images           int
	VisionEncode     time.Duration // sum over this turn's images
	PromptTokens     int           // tokens in the conversation after this turn's input
	PrefillTokens    int           // tokens actually run this turn (new tokens only)
	Prefill          time.Duration
	TimeToFirstToken time.Duration // from the start of prefill
	GeneratedTokens  int
	Decode           time.Duration // from first to last generated token
	Total            time.Duration
	FinishReason     string // "eos", "stop", "length", "context", "cancelled"
}

// PrefillTokPerSec is prefill throughput.
func (s Stats) PrefillTokPerSec() float64 { return engine.Stats(s).PrefillTokPerSec() }

// DecodeTokPerSec is decode throughput (tokens after the first, which the
// prefill produces, over the time spent decoding them).
func (s Stats) DecodeTokPerSec() float64 { return engine.Stats(s).DecodeTokPerSec() }

// Sampling configures token choice; the zero value is greedy decoding
// (temperature 0), so output is reproducible. Field for field the
// engine's sampler settings (converted, never copied by hand).
type Sampling struct {
	Temperature float32 // 0 = greedy (argmax, ties → lowest id)
	TopK        int     // keep the K most likely tokens (0 = off)
	TopP        float32 // keep the smallest set with cumulative probability ≥ TopP (0 or 1 = off)
	MinP        float32 // drop tokens with p < MinP·p(max) (0 = off)
	// RepeatPenalty > 1 divides positive logits (multiplies negative ones)
	// of tokens seen in the last RepeatWindow generated+prompt tokens
	// (the llama.cpp/ctrl convention). 0 or 1 = off.
	RepeatPenalty float32
	RepeatWindow  int    // default 64 when RepeatPenalty is set
	Seed          uint64 // fixes the random stream: equal seeds give equal output
}

// Validate reports a clear error for out-of-range settings.
func (s Sampling) Validate() error { return engine.Sampling(s).Validate() }

// Usage counts a turn's tokens, as the OpenAI API reports them.
type Usage struct {
	PromptTokens int // tokens in the conversation before the reply
	// CachedTokens of the prompt were already in the conversation's KV
	// cache (an earlier turn, or a Batch slot's earlier request), so this
	// turn did not prefill them.
	CachedTokens     int
	CompletionTokens int // tokens generated in the reply
}

// Precision selects how decoder weights are held.
type Precision int

const (
	// Int8 quantizes the decoder linears and head (the default; docs/design.md §3).
	Int8 Precision = iota
	// F32 keeps every weight in float32 (reference numerics, 4× the memory).
	F32
)

// String is "int8" or "f32".
func (p Precision) String() string { return p.weights().String() }

// ParsePrecision reads "int8" (or "") and "f32".
func ParsePrecision(s string) (Precision, error) {
	p, err := weights.ParsePrecision(s)
	return Precision(p), err
}

// weights is the loaders' form (the same numbering).
func (p Precision) weights() weights.Precision { return weights.Precision(p) }
