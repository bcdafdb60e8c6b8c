package vlmrt_test

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"

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
