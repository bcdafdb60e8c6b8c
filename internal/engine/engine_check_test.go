package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// TestNewEngineRejectsForeignTokenizer: a config.json whose special ids
// disagree with the tokenizer's fails at load, naming both ids, before any
// weight is read (the source here is nil).
func TestNewEngineRejectsForeignTokenizer(t *testing.T) {
	tok, err := tokenizer.Load("../../testdata/tokenizer")
	if err != nil {
		t.Fatal(err)
	}
	good, err := config.Load(tinyA + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSpecialIDs(good, tok); err != nil {
		t.Fatalf("tiny-a and its tokenizer: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*config.Model)
		want string
	}{
		{"image pad", func(m *config.Model) { m.ImageTokenID = 200000 }, "config.json image_token_id is 200000 but the tokenizer's <|image_pad|> is 151655"},
		{"vision start", func(m *config.Model) { m.VisionStartID = 7 }, "vision_start_token_id is 7 but the tokenizer's <|vision_start|> is 151652"},
		{"vision end", func(m *config.Model) { m.VisionEndID = 151652 }, "vision_end_token_id is 151652 but the tokenizer's <|vision_end|> is 151653"},
	} {
		cfg := *good
		c.edit(&cfg)
		_, err := NewEngine(context.Background(), nil, &cfg, tok, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestNaNLogitsAreAnError: a model whose numbers produce NaN (here a
// negative rms_norm_eps, which config.Parse rejects but a hand-built config
// can carry) stops with an error instead of streaming token 0.
func TestNaNLogitsAreAnError(t *testing.T) {
	ck, err := bundle.OpenCheckpoint(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	cfg := *ck.Config
	cfg.Text.RMSNormEps = -1
	e, err := NewEngine(context.Background(), ck.Tensors, &cfg, nil, LoadOptions{NoVision: true, ContextLength: 64})
	if err != nil {
		t.Fatal(err)
	}
	var got []int32
	st, err := e.NewSession().Generate(context.Background(), Input{IDs: []int32{151644, 872, 198, 6023}}, Options{MaxTokens: 4}, func(tok Token) bool {
		got = append(got, tok.ID)
		return true
	})
	if err == nil || !strings.Contains(err.Error(), "NaN logits") {
		t.Fatalf("got %v (tokens %v, stats %+v), want a NaN logits error", err, got, st)
	}
	if len(got) != 0 {
		t.Errorf("tokens %v streamed from NaN logits", got)
	}
}

// TestContextLengthBeyondModel: a context longer than the model's position
// range fails before any weight is read (the source here is nil).
func TestContextLengthBeyondModel(t *testing.T) {
	cfg, err := config.Load(tinyA + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewEngine(context.Background(), nil, cfg, nil, LoadOptions{ContextLength: cfg.Text.MaxPositions + 1})
	if !errors.Is(err, ErrUnsupportedInput) || !strings.Contains(err.Error(), "context length 262145 exceeds the model's max_position_embeddings 262144") {
		t.Fatalf("got %v", err)
	}
}
