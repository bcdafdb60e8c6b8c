package vision

import (
	"errors"
	"fmt"
	"math"

	"github.com/vlmrt/vlmrt/config"
)

// ErrAspectRatio is returned for an image too elongated for the processor.
var ErrAspectRatio = errors.New("aspect ratio beyond the processor's limit")

// Native resolution: Qwen3-VL was trained on images at (close to) their own
// size and aspect ratio. Hugging Face's processor picks the size with
// smart_resize (transformers, image_processing_qwen2_vl.py, which Qwen3-VL's
// processor reuses with patch 16 and merge 2): both sides become multiples
// of factor = patch × merge (32), and the pixel count is brought inside
// [MinPixels, MaxPixels] keeping the aspect ratio as closely as possible.

// Budget bounds the resized pixel count of a native-resolution image.
type Budget struct {
	MinPixels int64 // images below are upscaled (0 = DefaultMinImagePixels)
	MaxPixels int64 // images above are downscaled (0 = DefaultMaxImagePixels)
}

const (
	// DefaultMinImagePixels is Qwen3-VL's preprocessor_config.json
	// size.shortest_edge (256×256 = 65,536 pixels → 64 image tokens).
	DefaultMinImagePixels = 65_536
	// DefaultMaxImagePixels is 448×448 = 200,704 pixels: a photo costs at
	// most what the fixed grid costs (196 tokens), so switching a model to
	// native resolution does not make a typical photo slower, while a wide
	// screenshot or a tall receipt keeps its shape instead of being
	// squeezed. The checkpoint's own ceiling (size.longest_edge,
	// 16,777,216 pixels = 16,384 tokens) is available with --max-pixels.
	DefaultMaxImagePixels = config.FixedImageSize * config.FixedImageSize
	// MaxAspectRatio is the processor's limit: a longer side more than 200
	// times the shorter is refused.
	MaxAspectRatio = 200
)

// withDefaults fills zero fields and validates the budget.
func (b Budget) withDefaults() (Budget, error) {
	if b.MaxPixels == 0 {
		b.MaxPixels = DefaultMaxImagePixels
	}
	if b.MinPixels == 0 {
		// An unset floor never exceeds the ceiling: a budget of at most
		// 48 tokens means at most 48.
		b.MinPixels = min(DefaultMinImagePixels, b.MaxPixels)
	}
	if b.MinPixels < 0 || b.MaxPixels < 0 {
		return b, fmt.Errorf("vision: image budget must be positive (min pixels %d, max pixels %d)", b.MinPixels, b.MaxPixels)
	}
	if b.MinPixels > b.MaxPixels {
		return b, fmt.Errorf("vision: image budget min pixels %d exceeds max pixels %d", b.MinPixels, b.MaxPixels)
	}
	return b, nil
}

// SmartResize returns the height and width Hugging Face's smart_resize gives
// an image of height×width for the rounding factor and budget. The float64
// operations are Python's, in Python's order (IEEE double division and a
// correctly rounded sqrt are the same in both languages), and round() is
// Python's round-half-to-even, so the result equals the processor's for
// every input.
func SmartResize(height, width, factor int, budget Budget) (int, int, error) {
	b, err := budget.withDefaults()
	if err != nil {
		return 0, 0, err
	}
	if height <= 0 || width <= 0 || factor <= 0 {
		return 0, 0, fmt.Errorf("vision: smart resize of a %dx%d image with factor %d", width, height, factor)
	}
	if float64(max(height, width))/float64(min(height, width)) > MaxAspectRatio {
		return 0, 0, fmt.Errorf("vision: %w: %dx%d has an aspect ratio of %.1f, the model's processor accepts at most %d:1 (crop the image, or use --resize plain)",
			ErrAspectRatio, width, height, float64(max(height, width))/float64(min(height, width)), MaxAspectRatio)
	}
	f := float64(factor)
	h := int64(math.RoundToEven(float64(height)/f)) * int64(factor)
	w := int64(math.RoundToEven(float64(width)/f)) * int64(factor)
	area := float64(height) * float64(width)
	switch {
	case h*w > b.MaxPixels:
		beta := math.Sqrt(area / float64(b.MaxPixels))
		h = max(int64(factor), int64(math.Floor(float64(height)/beta/f))*int64(factor))
		w = max(int64(factor), int64(math.Floor(float64(width)/beta/f))*int64(factor))
	case h*w < b.MinPixels:
		beta := math.Sqrt(float64(b.MinPixels) / area)
		h = int64(math.Ceil(float64(height)*beta/f)) * int64(factor)
		w = int64(math.Ceil(float64(width)*beta/f)) * int64(factor)
	}
	if h > 1<<15 || w > 1<<15 {
		return 0, 0, fmt.Errorf("vision: %w: the budget resizes %dx%d to %dx%d, beyond %d pixels a side", ErrImageTooLarge, width, height, w, h, 1<<15)
	}
	return int(h), int(w), nil
}

// PatchGrid is the patch grid of one image: Rows×Cols patches of the
// model's patch size, merged into (Rows/merge)×(Cols/merge) image tokens.
type PatchGrid struct {
	Rows, Cols int // patches per column and per row (grid_thw's h and w)
	Merge      int // spatial merge size (2)
}

// Tokens is the number of image tokens (pads) the grid occupies.
func (p PatchGrid) Tokens() int { return (p.Rows / p.Merge) * (p.Cols / p.Merge) }

// NumPatches is the number of rows of the patch tensor.
func (p PatchGrid) NumPatches() int { return p.Rows * p.Cols }
