package vlmrt

import (
	"fmt"

	"github.com/vlmrt/vlmrt/vision"
)

// How an image becomes model input (WithResize, Request.Resize).
const (
	// ResizePlain stretches the image to the fixed 448×448 grid (196
	// tokens), the contract of the seed's exported model. The default.
	ResizePlain = vision.ResizePlain
	// ResizeLetterbox fits the whole image in the square and pads it.
	ResizeLetterbox = vision.ResizeLetterbox
	// ResizeCrop takes the centre square.
	ResizeCrop = vision.ResizeCrop
	// ResizeNative keeps the image's aspect ratio and (close to) its size,
	// as Qwen3-VL was trained: Hugging Face's smart_resize picks sides that
	// are multiples of 32 pixels with the pixel count inside the
	// ImageBudget, one image token per 32×32 pixels.
	ResizeNative = vision.ResizeNative
)

// ImageBudget bounds the pixels of a native-resolution image: smaller
// images are upscaled to MinPixels, larger ones brought down to MaxPixels
// (a token is 32×32 = 1,024 pixels). Zero fields take the defaults:
// MinPixels 65,536 (Qwen3-VL's processor default, 64 tokens) and MaxPixels
// 200,704 (448×448, so a photo costs at most what the fixed grid costs,
// 196 tokens). The checkpoint's own ceiling is 16,777,216 pixels.
type ImageBudget struct {
	MinPixels, MaxPixels int64
}

// WithImageBudget sets the pixel budget of native-resolution images.
func WithImageBudget(b ImageBudget) ChatOption { return func(o *chatOptions) { o.budget = b } }

// ImageTokensFor returns the image tokens an image of width×height pixels
// takes under ResizeNative with budget b (an error for an aspect ratio the
// processor refuses or an invalid budget): one token per merged patch.
func (m *Model) ImageTokensFor(width, height int, b ImageBudget) (int, error) {
	if err := m.acquire(); err != nil {
		return 0, err
	}
	g := m.engine.Grid
	m.mu.RUnlock()
	side := g.PatchSize * g.MergeSize
	h, w, err := vision.SmartResize(height, width, side, vision.Budget(b))
	if err != nil {
		return 0, err
	}
	return (h / side) * (w / side), nil
}

// Fit returns the image part p resized with mode and budget instead of the
// chat's settings (WithResize, WithImageBudget): one image of a message can
// go in at native resolution while the others use the fixed grid. It has no
// effect on text parts or precomputed patches.
func (p Part) Fit(mode ResizeMode, budget ImageBudget) Part {
	if p.isImage {
		p.image.fit = &imageFit{resize: mode, budget: budget}
	}
	return p
}

// WithImageLimit bounds what one conversation may hold: at most maxImages
// images and maxImageTokens image tokens over all its turns (0 = no
// limit). A turn beyond either fails with ErrUnsupportedInput before any
// image is encoded and leaves the conversation unchanged; Reset clears the
// count. The context length bounds everything anyway; this keeps one
// conversation (say, a server user) from spending it all on images.
func WithImageLimit(maxImages, maxImageTokens int) ChatOption {
	return func(o *chatOptions) { o.maxImages, o.maxImageTokens = maxImages, maxImageTokens }
}

// checkImageLimit refuses a turn whose images would pass WithImageLimit.
func (c *Chat) checkImageLimit(turn []preparedImage) error {
	tokens := 0
	for _, p := range turn {
		tokens += p.grid.Tokens()
	}
	if l := c.opt.maxImages; l > 0 && c.images+len(turn) > l {
		return fmt.Errorf("%w: the conversation holds %d images and this turn adds %d; the limit is %d (WithImageLimit)", ErrUnsupportedInput, c.images, len(turn), l)
	}
	if l := c.opt.maxImageTokens; l > 0 && c.imageTokens+tokens > l {
		return fmt.Errorf("%w: the conversation holds %d image tokens and this turn adds %d; the limit is %d (WithImageLimit)", ErrUnsupportedInput, c.imageTokens, tokens, l)
	}
	return nil
}
