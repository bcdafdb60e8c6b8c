package vlmrt

import (
	"context"
	"fmt"
	"strings"

	"github.com/vlmrt/vlmrt/internal/engine"
)

// ImagePatchGrid is an image part already preprocessed into patches on a
// rows×cols patch grid ([rows·cols, Info().PatchDim], block-major, as
// `vlmrt preprocess --resize native` writes it): the expert form of a
// native-resolution image. rows and cols are multiples of the merge size.
func ImagePatchGrid(patches []float32, rows, cols int) Part {
	return Part{image: imageSource{patches: patches, gridRows: rows, gridCols: cols}, isImage: true}
}

// RawRequest is an expert generation: prompt token ids with no chat
// template, in which each image fills one contiguous run of image pads
// (Info().Config.ImageTokenID) of exactly its token count, in order.
type RawRequest struct {
	IDs    []int32
	Images []Part // image parts (ImageFile, ImagePatches, ImagePatchGrid, ...)
	GenerateOptions
	Resize      ResizeMode  // how image files are fitted
	ImageBudget ImageBudget // their pixel budget under ResizeNative
}

// GenerateIDs runs a RawRequest, streaming each token to fn (an error from
// fn stops generation and is returned): the entry for tools that build
// prompts themselves, such as `vlmrt run --prompt-ids`.
func (m *Model) GenerateIDs(ctx context.Context, req RawRequest, fn func(Token) error) (*Response, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	c := m.NewChat(WithResize(req.Resize), WithImageBudget(req.ImageBudget))
	defer c.Close()
	images := make([]*engine.Image, 0, len(req.Images))
	for i, p := range req.Images {
		if !p.isImage || !p.image.isSet() {
			return nil, fmt.Errorf("%w: RawRequest image %d is not an image part (or is empty)", ErrUnsupportedInput, i+1)
		}
		prep, err := m.prepareImage(ctx, &c.opt, p.image)
		if err == nil {
			var im *engine.Image
			if im, err = m.engine.EncodeGrid(ctx, prep.patches, prep.grid.Rows, prep.grid.Cols); err == nil {
				images = append(images, im)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i+1, err)
		}
	}
	resp := &Response{}
	var text strings.Builder
	var cbErr error
	est, err := c.s.Generate(ctx, engine.Input{IDs: req.IDs, Images: images}, req.GenerateOptions.engineOptions(), func(t engine.Token) bool {
		resp.Tokens = append(resp.Tokens, t.ID)
		text.WriteString(t.Text)
		cbErr = fn(m.publicToken(t))
		return cbErr == nil
	})
	resp.Text, resp.Stats, resp.FinishReason = text.String(), Stats(est), est.FinishReason
	if cbErr != nil {
		return resp, cbErr
	}
	return resp, err
}
