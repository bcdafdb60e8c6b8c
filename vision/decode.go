package vision

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// DefaultMaxPixels is the default decoded-size limit: 100 megapixels, far
// above any camera photo, far below what a hostile header can claim.
const DefaultMaxPixels = 100_000_000

// maxBytesPerPixel bounds the file size accepted for a given pixel limit:
// the largest uncompressed encoding (16-bit RGBA TIFF) takes 8 bytes a pixel.
const maxBytesPerPixel = 8

// Errors callers may want to tell apart (wrapped with details).
var (
	ErrUnsupportedFormat = errors.New("unsupported image format")
	ErrImageTooLarge     = errors.New("image exceeds the pixel limit")
	ErrCorruptImage      = errors.New("corrupt or truncated image")
)

// imageFormat names a container by its magic bytes.
func imageFormat(head []byte) string {
	switch {
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(head, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	}
	return ""
}

// DecodeImage reads one image file (JPEG, PNG, GIF first frame, WebP, BMP or
// TIFF) and returns it upright (EXIF orientation applied) as 8-bit RGB,
// converted the way Hugging Face's load_image + convert_to_rgb do with
// Pillow. maxPixels <= 0 means DefaultMaxPixels; the size is checked from
// the header before any pixel is decoded, and the amount of input read is
// bounded by the same limit.
func DecodeImage(r io.Reader, maxPixels int64) (*RGBImage, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	maxBytes := maxPixels*maxBytesPerPixel + 1<<20
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("vision: reading image: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("vision: %w: file is larger than %d bytes (limit %d pixels)", ErrImageTooLarge, maxBytes, maxPixels)
	}
	return decodeBytes(data, maxPixels)
}

// decodeBytes is DecodeImage on an in-memory file.
func decodeBytes(data []byte, maxPixels int64) (*RGBImage, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("vision: %w: empty file", ErrCorruptImage)
	}
	format := imageFormat(data)
	if format == "" {
		return nil, fmt.Errorf("vision: %w (expected JPEG, PNG, GIF, WebP, BMP or TIFF; file starts with % x)",
			ErrUnsupportedFormat, data[:min(len(data), 8)])
	}
	cfg, err := guard(format, func() (image.Config, error) { return decodeConfig(format, data) })
	if err != nil {
		return nil, fmt.Errorf("vision: %w: %s header: %s", ErrCorruptImage, format, decoderMessage(format, err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("vision: %w: %s image has no pixels (%dx%d)", ErrCorruptImage, format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return nil, fmt.Errorf("vision: %w: %s image is %dx%d = %d pixels, limit %d",
			ErrImageTooLarge, format, cfg.Width, cfg.Height, px, maxPixels)
	}
	img, err := guard(format, func() (image.Image, error) { return decodePixels(format, data) })
	if err != nil {
		return nil, fmt.Errorf("vision: %w: %s: %s", ErrCorruptImage, format, decoderMessage(format, err))
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > maxPixels {
		return nil, fmt.Errorf("vision: %w: %s decoded to %dx%d", ErrCorruptImage, format, b.Dx(), b.Dy())
	}
	var rgb *RGBImage
	switch format {
	case "jpeg":
		rgb, err = jpegToRGB(img)
	case "webp":
		rgb, err = webpToRGB(img)
	case "gif":
		rgb, err = gifFirstFrameToRGB(img, data, cfg)
	default:
		rgb, err = toRGB(img)
	}
	if err != nil {
		return nil, err
	}
	return applyOrientation(rgb, fileOrientation(data, format)), nil
}

// codecs are the decoders for each format name sniffed from the magic bytes
// (GIF decodes its first frame only).
var codecs = map[string]struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}{
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"png":  {png.DecodeConfig, png.Decode},
	"gif":  {gif.DecodeConfig, gif.Decode},
	"webp": {webp.DecodeConfig, webp.Decode},
	"bmp":  {bmp.DecodeConfig, bmp.Decode},
	"tiff": {tiff.DecodeConfig, tiff.Decode},
}

func decodeConfig(format string, data []byte) (image.Config, error) {
	c, ok := codecs[format]
	if !ok {
		return image.Config{}, ErrUnsupportedFormat
	}
	return c.config(bytes.NewReader(data))
}

func decodePixels(format string, data []byte) (image.Image, error) {
	c, ok := codecs[format]
	if !ok {
		return nil, ErrUnsupportedFormat
	}
	return c.decode(bytes.NewReader(data))
}

// guard runs a third-party decoder and turns a panic on malformed input
// into an error: the last line of defence, so one hostile file cannot take
// down a server.
func guard[T any](format string, f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s decoder failed on malformed data: %v", format, p)
		}
	}()
	return f()
}

// decoderMessage is a decoder's error text without the format name the
// decoder prefixes it with (image/png writes "png: invalid format: ..."),
// which the caller names already: "png: png: ..." reads as a stutter.
func decoderMessage(format string, err error) string {
	return strings.TrimPrefix(err.Error(), format+": ")
}
