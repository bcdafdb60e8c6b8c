package vlmrt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/engine"
)

// TestZeroValuesAndClosed: zero values and a closed model return ErrClosed
// from every call instead of panicking or reading unmapped weights —
// including a session reached through Engine() after Close.
func TestZeroValuesAndClosed(t *testing.T) {
	ctx := context.Background()
	msg := vlmrt.User(vlmrt.Text("hi"))
	var zm vlmrt.Model
	var nilModel *vlmrt.Model
	for name, m := range map[string]*vlmrt.Model{"zero Model": &zm, "nil Model": nilModel} {
		c := m.NewChat()
		for _, err := range c.Send(ctx, msg) {
			if !errors.Is(err, vlmrt.ErrClosed) {
				t.Errorf("%s: Send: %v", name, err)
			}
		}
		if _, err := m.Generate(ctx, vlmrt.Request{Messages: []vlmrt.Message{msg}}); !errors.Is(err, vlmrt.ErrClosed) {
			t.Errorf("%s: Generate: %v", name, err)
		}
		if _, err := m.ImageTokensFor(640, 480, vlmrt.ImageBudget{}); !errors.Is(err, vlmrt.ErrClosed) {
			t.Errorf("%s: ImageTokensFor: %v", name, err)
		}
		c.Reset()
		if c.Tokens() != nil || m.Tokenizer() != nil || vlmrt.EngineOf(m) != nil {
			t.Errorf("%s: tokens, tokenizer or engine of nothing", name)
		}
	}
	if err := zm.Close(); err != nil {
		t.Errorf("zero Model Close: %v", err)
	}
	var zc vlmrt.Chat
	for _, err := range zc.Send(ctx, msg) {
		if !errors.Is(err, vlmrt.ErrClosed) {
			t.Errorf("zero Chat Send: %v", err)
		}
	}
	zc.Reset()
	zc.SetSystem("x")

	// A model of its own, closed: the engine reached before Close refuses
	// new turns and encodes.
	m, err := vlmrt.Open(ctx, modelDir)
	if err != nil {
		t.Fatal(err)
	}
	e := vlmrt.EngineOf(m)
	s := e.NewSession()
	m.Close()
	if _, err := s.Generate(ctx, engine.Input{IDs: []int32{9707}}, engine.Options{MaxTokens: 1}, func(engine.Token) bool { return true }); !errors.Is(err, vlmrt.ErrClosed) {
		t.Errorf("session after Close: %v", err)
	}
	if _, err := e.EncodeGrid(ctx, make([]float32, 784*1536), 28, 28); !errors.Is(err, vlmrt.ErrClosed) {
		t.Errorf("encode after Close: %v", err)
	}
}
