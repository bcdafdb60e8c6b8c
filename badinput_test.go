package vlmrt_test

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt"
)

// TestEmptyImageParts: an image part with nothing in it is an error, not a
// turn that silently drops the image.
func TestEmptyImageParts(t *testing.T) {
	m := model(t)
	var nilRGBA image.Image
	for name, p := range map[string]vlmrt.Part{
		"Image(nil)":        vlmrt.Image(nilRGBA),
		"ImageReader(nil)":  vlmrt.ImageReader(nil),
		"ImagePatches(nil)": vlmrt.ImagePatches(nil),
		`ImageFile("")`:     vlmrt.ImageFile(""),
	} {
		c := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 2}))
		_, err := c.SendFunc(context.Background(), vlmrt.User(vlmrt.Text("What is this?"), p), func(vlmrt.Token) error { return nil })
		if !errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), "image 1 of the message is empty") {
			t.Errorf("%s: got %v, want ErrUnsupportedInput naming the empty image", name, err)
		}
		if n := len(c.Tokens()); n != 0 {
			t.Errorf("%s: the refused turn left %d tokens in the chat", name, n)
		}
	}
}

// TestSendInsideOwnTurn: a Send from inside the same Chat's running turn
// used to wait for itself forever; it is an error, and the outer turn
// finishes normally.
func TestSendInsideOwnTurn(t *testing.T) {
	m := model(t)
	c := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 3}))
	var inner error
	done := make(chan error, 1)
	go func() {
		_, err := c.SendFunc(context.Background(), vlmrt.User(vlmrt.Text("Hi")), func(vlmrt.Token) error {
			if inner == nil {
				_, inner = c.SendFunc(context.Background(), vlmrt.User(vlmrt.Text("again")), func(vlmrt.Token) error { return nil })
			}
			return nil
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("outer turn: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nested Send deadlocked")
	}
	if !errors.Is(inner, vlmrt.ErrUnsupportedInput) || !strings.Contains(inner.Error(), "already running a turn") {
		t.Fatalf("nested Send: %v", inner)
	}
	if st := c.Stats(); st.GeneratedTokens != 3 {
		t.Errorf("outer turn generated %d tokens, want 3", st.GeneratedTokens)
	}
}

// TestOpenOptionErrors: a bad option names itself and its value, and fails
// before any file is read.
func TestOpenOptionErrors(t *testing.T) {
	for _, c := range []struct {
		opt  vlmrt.Option
		want string
	}{
		{vlmrt.WithThreads(-1), "threads -1 must be ≥ 0"},
		{vlmrt.WithContextLength(-5), "context length -5 must be ≥ 0"},
	} {
		_, err := vlmrt.Open(context.Background(), "testdata/does-not-exist", c.opt)
		if !errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want ErrUnsupportedInput containing %q", err, c.want)
		}
	}
}
