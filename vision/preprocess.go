package vision

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"strings"
)

// ResizeMode chooses how an image of any shape becomes the square model input.
type ResizeMode int

const (
	// ResizePlain stretches the image to the square grid, ignoring its
	// aspect ratio. This is the fixed-grid contract the references (and the
	// exported model) use, so it is the default.
	ResizePlain ResizeMode = iota
	// ResizeLetterbox fits the whole image inside the square, keeping its
	// aspect ratio, and pads the rest with LetterboxPad gray.
	ResizeLetterbox
	// ResizeCrop center-crops the largest square, then resizes it.
	ResizeCrop
	// ResizeNative keeps the image's aspect ratio and (close to) its size:
	// Hugging Face's smart_resize picks sides that are multiples of 32
	// within the pixel Budget, and the image gets one token per 32×32
	// pixels (see native.go).
	ResizeNative
)

// LetterboxPad is the gray level of letterbox padding. 127 normalizes to
// almost exactly 0 ((127/255-0.5)/0.5 ≈ -0.004), the mean the model was
// normalized around, so padding carries as little signal as possible.
const LetterboxPad = 127

// String returns the name ParseResizeMode accepts.
func (m ResizeMode) String() string {
	switch m {
	case ResizePlain:
		return "plain"
	case ResizeLetterbox:
		return "letterbox"
	case ResizeCrop:
		return "crop"
	case ResizeNative:
		return "native"
	}
	return fmt.Sprintf("ResizeMode(%d)", int(m))
}

// ParseResizeMode parses "plain", "letterbox", "crop" or "native"
// (case-insensitive; "" means plain).
func ParseResizeMode(s string) (ResizeMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "plain":
		return ResizePlain, nil
	case "letterbox":
		return ResizeLetterbox, nil
	case "crop":
		return ResizeCrop, nil
	case "native":
		return ResizeNative, nil
	}
	return 0, fmt.Errorf("vision: unknown resize mode %q (want plain, letterbox, crop or native)", s)
}

// PreprocessOptions configures preprocessing. The zero value is valid:
// plain resize, DefaultMaxPixels, DefaultGrid.
type PreprocessOptions struct {
	Resize    ResizeMode
	MaxPixels int64 // decoded-size limit; <= 0 means DefaultMaxPixels
	// Grid gives the patch, merge and temporal sizes, and for the fixed
	// modes the square side; zero value means DefaultGrid().
	Grid Grid
	// Budget bounds the resized pixel count under ResizeNative (zero
	// fields: DefaultMinImagePixels, DefaultMaxImagePixels).
	Budget Budget
}

func (o PreprocessOptions) grid() Grid {
	if o.Grid == (Grid{}) {
		return DefaultGrid()
	}
	return o.Grid
}

// Preprocessed is an image ready for the vision encoder.
type Preprocessed struct {
	Grid Grid
	// Patch is the image's patch grid: Grid.PatchesPerSide() square for the
	// fixed modes, the smart_resize size over the patch size for native.
	Patch PatchGrid
	// Resized is the RGB image the patches were cut from (Grid.ImageSize
	// square, or the native size), after orientation, RGB conversion and
	// resizing: what the model sees.
	Resized *RGBImage
	// Patches is the [Patch.NumPatches(), Grid.PatchDim()] row-major tensor.
	Patches []float32
}

// ErrImageFile wraps failures to open an image file (missing, a directory,
// no permission): a problem with the path, not with the image.
var ErrImageFile = errors.New("cannot read image file")

// PreprocessFile decodes the image file at path and preprocesses it.
func PreprocessFile(ctx context.Context, path string, opt PreprocessOptions) (*Preprocessed, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrImageFile, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImageFile, err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is a directory", ErrImageFile, path)
	}
	defer f.Close()
	p, err := PreprocessReader(ctx, f, opt)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return p, nil
}

// PreprocessReader decodes an image file from r and preprocesses it.
func PreprocessReader(ctx context.Context, r io.Reader, opt PreprocessOptions) (*Preprocessed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img, err := DecodeImage(r, opt.MaxPixels)
	if err != nil {
		return nil, err
	}
	return PreprocessImage(ctx, img, opt)
}

// PreprocessImage preprocesses an already decoded image. Pass the result of
// DecodeImage for files; other image.Image values are converted to RGB by
// their stored straight colour (alpha dropped, not composited), with no EXIF
// orientation applied.
func PreprocessImage(ctx context.Context, img image.Image, opt PreprocessOptions) (*Preprocessed, error) {
	g := opt.grid()
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if img == nil {
		return nil, fmt.Errorf("vision: nil image")
	}
	maxPixels := opt.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("vision: image has no pixels (%dx%d)", b.Dx(), b.Dy())
	}
	if px := int64(b.Dx()) * int64(b.Dy()); px > maxPixels {
		return nil, fmt.Errorf("vision: %w: %dx%d = %d pixels, limit %d", ErrImageTooLarge, b.Dx(), b.Dy(), px, maxPixels)
	}
	rgb, err := toRGB(img)
	if err != nil {
		return nil, err
	}
	var resized *RGBImage
	if opt.Resize == ResizeNative {
		h, w, err := SmartResize(rgb.Height, rgb.Width, g.PatchSize*g.MergeSize, opt.Budget)
		if err != nil {
			return nil, err
		}
		resized, err = resizeBicubic(ctx, rgb, w, h)
		if err != nil {
			return nil, err
		}
	} else {
		resized, err = resizeToGrid(ctx, rgb, opt.Resize, g.ImageSize)
		if err != nil {
			return nil, err
		}
	}
	if resized == rgb && rgb == img {
		// Never alias the caller's image: Resized is ours to hand out.
		resized = &RGBImage{Width: rgb.Width, Height: rgb.Height, Pix: append([]uint8(nil), rgb.Pix...)}
	}
	pg := PatchGrid{Rows: resized.Height / g.PatchSize, Cols: resized.Width / g.PatchSize, Merge: g.MergeSize}
	patches := make([]float32, pg.NumPatches()*g.PatchDim())
	patchify(resized.Pix, resized.Width, g, pg, patches)
	return &Preprocessed{Grid: g, Patch: pg, Resized: resized, Patches: patches}, ctx.Err()
}

// resizeToGrid brings rgb to side×side according to mode.
func resizeToGrid(ctx context.Context, rgb *RGBImage, mode ResizeMode, side int) (*RGBImage, error) {
	switch mode {
	case ResizePlain:
		return resizeBicubic(ctx, rgb, side, side)
	case ResizeCrop:
		s := min(rgb.Width, rgb.Height)
		return resizeBicubic(ctx, cropRGB(rgb, (rgb.Width-s)/2, (rgb.Height-s)/2, s, s), side, side)
	case ResizeLetterbox:
		w, h := letterboxSize(rgb.Width, rgb.Height, side)
		fit, err := resizeBicubic(ctx, rgb, w, h)
		if err != nil {
			return nil, err
		}
		out := newRGBImage(side, side)
		for i := range out.Pix {
			out.Pix[i] = LetterboxPad
		}
		x0, y0 := (side-w)/2, (side-h)/2
		for y := 0; y < h; y++ {
			copy(out.Pix[((y0+y)*side+x0)*3:((y0+y)*side+x0+w)*3], fit.Pix[y*w*3:(y+1)*w*3])
		}
		return out, nil
	}
	return nil, fmt.Errorf("vision: unknown resize mode %d", int(mode))
}

// letterboxSize is the largest w×h inside side×side with w/h ≈ iw/ih
// (rounded to nearest, at least 1 pixel).
func letterboxSize(iw, ih, side int) (int, int) {
	if iw >= ih {
		return side, max(1, (ih*side*2+iw)/(2*iw))
	}
	return max(1, (iw*side*2+ih)/(2*ih)), side
}

// cropRGB copies the w×h rectangle at (x0, y0).
func cropRGB(m *RGBImage, x0, y0, w, h int) *RGBImage {
	if x0 == 0 && y0 == 0 && w == m.Width && h == m.Height {
		return m
	}
	out := newRGBImage(w, h)
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w*3:(y+1)*w*3], m.Pix[((y0+y)*m.Width+x0)*3:((y0+y)*m.Width+x0+w)*3])
	}
	return out
}
