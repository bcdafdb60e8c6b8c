package vlmrt_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt"
)

// mustPanic runs fn and reports whether it panicked (the panic is the
// user's, raised in a callback the library called).
func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: the callback's panic did not reach the caller", what)
		}
	}()
	fn()
}

// TestCallbackPanic: a panic in a user's callback — a stream consumer,
// the body of a range over Send, a load progress function — reaches the
// caller and leaves nothing broken behind: the same Chat, other Chats on
// the same Model and a later Open all work (bounded by a deadline, so a
// lock left held fails the test instead of hanging it).
func TestCallbackPanic(t *testing.T) {
	m := model(t)
	gen := vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 4})
	c := m.NewChat(gen)
	defer c.Close()
	msg := vlmrt.User(vlmrt.Text("Hello"))

	mustPanic(t, "SendFunc consumer", func() {
		c.SendFunc(context.Background(), msg, func(vlmrt.Token) error { panic("consumer") })
	})
	mustPanic(t, "range body", func() {
		for range c.Send(context.Background(), msg) {
			panic("range body")
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The chat that saw both panics still answers, and exactly as a chat
	// whose consumer stopped at the same two points without panicking (an
	// error from the callback, a break out of the range): a panic is a stop,
	// the partial turn stays in the conversation like any stopped turn.
	ref := m.NewChat(gen)
	defer ref.Close()
	ref.SendFunc(ctx, msg, func(vlmrt.Token) error { return errors.New("stop") })
	for range ref.Send(ctx, msg) {
		break
	}
	var again, want []int32
	if _, err := c.SendFunc(ctx, msg, func(tok vlmrt.Token) error { again = append(again, tok.ID); return nil }); err != nil {
		t.Fatalf("the chat after the panics: %v", err)
	}
	if _, err := ref.SendFunc(ctx, msg, func(tok vlmrt.Token) error { want = append(want, tok.ID); return nil }); err != nil {
		t.Fatalf("the reference chat: %v", err)
	}
	if !slices.Equal(again, want) || !slices.Equal(c.Tokens(), ref.Tokens()) {
		t.Fatalf("after the panics the chat answered %v (conversation %d tokens); stopped cleanly at the same points, %v (%d tokens)",
			again, len(c.Tokens()), want, len(ref.Tokens()))
	}
	// Other chats on the model are unaffected.
	other := m.NewChat(gen)
	defer other.Close()
	if _, err := other.SendFunc(ctx, msg, func(vlmrt.Token) error { return nil }); err != nil {
		t.Fatalf("another chat on the model: %v", err)
	}

	mustPanic(t, "progress", func() {
		vlmrt.Open(context.Background(), modelDir, vlmrt.WithProgress(func(vlmrt.LoadProgress) { panic("progress") }))
	})
	m2, err := vlmrt.Open(ctx, modelDir)
	if err != nil {
		t.Fatalf("Open after a progress panic: %v", err)
	}
	m2.Close()
}
