package tokenizer

import (
	"errors"
	"fmt"

	"github.com/vlmrt/vlmrt/mrope"
)

// ImagePadToken is the placeholder the Qwen-VL chat templates emit once per
// image; the processor expands it to one token per merged vision patch.
const ImagePadToken = "<|image_pad|>"

// TextOnlyRopeShiftStart (mrope.TextOnlyShiftStart) is rope_shift_start for a prompt without images: a
// position no prompt reaches, so no text token is ever shifted (docs/design.md §2.6).
const TextOnlyRopeShiftStart = mrope.TextOnlyShiftStart

// ErrTooManyImages is wrapped by CheckImageLimit.
var ErrTooManyImages = errors.New("too many images")

// ImageSpan locates one image's pads in Prompt.IDs.
type ImageSpan struct {
	Start int // index of the image's first <|image_pad|>
	Len   int // number of pads (merged patches)
}

// Prompt is a tokenized conversation ready for the engine.
type Prompt struct {
	IDs    []int32
	Images []ImageSpan
	PadID  int32 // id of <|image_pad|>
}

// EncodeChat renders msgs with the chat template, tokenizes the result and
// expands each image's single <|image_pad|> to padsPerImage pads (the merged
// patch count from the vision config: 196 for the 448×448 fixed grid).
func (t *Tokenizer) EncodeChat(msgs []Message, opts ChatOptions, padsPerImage int) (*Prompt, error) {
	if padsPerImage <= 0 {
		return nil, fmt.Errorf("tokenizer: EncodeChat: padsPerImage must be positive, got %d", padsPerImage)
	}
	return t.encodeChat(msgs, opts, func(int) int { return padsPerImage })
}

// EncodeChatImages is EncodeChat for images of different sizes: image i of
// the conversation (in order) expands to padsPerImage[i] pads, its merged
// patch count (native resolution gives each image its own grid).
func (t *Tokenizer) EncodeChatImages(msgs []Message, opts ChatOptions, padsPerImage []int) (*Prompt, error) {
	for i, n := range padsPerImage {
		if n <= 0 {
			return nil, fmt.Errorf("tokenizer: EncodeChatImages: image %d needs a positive pad count, got %d", i+1, n)
		}
	}
	images := 0
	for _, m := range msgs {
		for _, p := range m.Content {
			if p.Type == "image" {
				images++
			}
		}
	}
	if images != len(padsPerImage) {
		return nil, fmt.Errorf("tokenizer: EncodeChatImages: the messages have %d image parts but %d pad counts were given", images, len(padsPerImage))
	}
	return t.encodeChat(msgs, opts, func(i int) int { return padsPerImage[i] })
}

// encodeChat renders and tokenizes msgs; image i expands to padsOf(i) pads.
func (t *Tokenizer) encodeChat(msgs []Message, opts ChatOptions, padsOf func(i int) int) (*Prompt, error) {
	pad, ok := t.TokenID(ImagePadToken)
	if !ok {
		return nil, fmt.Errorf("tokenizer: vocabulary has no %s token", ImagePadToken)
	}
	text, err := t.RenderChat(msgs, opts)
	if err != nil {
		return nil, err
	}
	images, videos := 0, 0
	for _, m := range msgs {
		for _, p := range m.Content {
			switch p.Type {
			case "image":
				images++
			case "video":
				videos++
			}
		}
	}
	if videos > 0 {
		return nil, fmt.Errorf("tokenizer: EncodeChat: video input is not supported (%d video parts)", videos)
	}
	ids := t.Encode(text)
	pads := 0
	for _, id := range ids {
		if id == pad {
			pads++
		}
	}
	// A mismatch means the template dropped an image (e.g. one in an assistant
	// turn) or the text itself contains the pad token; either would put image
	// features in the wrong place, so refuse.
	if pads != images {
		return nil, fmt.Errorf("tokenizer: EncodeChat: rendered prompt has %d %s tokens but the messages have %d image parts (is %s in the text, or an image in a role the template ignores?)",
			pads, ImagePadToken, images, ImagePadToken)
	}
	p := &Prompt{IDs: make([]int32, 0, len(ids)), PadID: pad}
	for _, id := range ids {
		if id != pad {
			p.IDs = append(p.IDs, id)
			continue
		}
		n := padsOf(len(p.Images))
		p.Images = append(p.Images, ImageSpan{Start: len(p.IDs), Len: n})
		for range n {
			p.IDs = append(p.IDs, pad)
		}
	}
	return p, nil
}

// CheckImageLimit returns an error naming the limit when the prompt has more
// images than a backend supports (the fixed Core AI bundle: 1 image).
func (p *Prompt) CheckImageLimit(maxImages int) error {
	if len(p.Images) > maxImages {
		return fmt.Errorf("%w: the prompt has %d images but this backend supports at most %d", ErrTooManyImages, len(p.Images), maxImages)
	}
	return nil
}

// RopeShift returns rope_shift_start and rope_shift_amount (docs/design.md §2.6)
// for an image whose merged patch grid is gridRows × gridCols: text after
// the image advances the rope position by max(rows, cols), not by the pad
// count, so positions from the end of the pads on are shifted back by
// pads − max(rows, cols). Without images: start 1<<30, amount 0. The single
// (start, amount) pair describes at most one image.
func (p *Prompt) RopeShift(gridRows, gridCols int) (start, amount int32, err error) {
	switch len(p.Images) {
	case 0:
		return TextOnlyRopeShiftStart, 0, nil
	case 1:
	default:
		return 0, 0, fmt.Errorf("%w: rope_shift_start/amount describe one image, the prompt has %d", ErrTooManyImages, len(p.Images))
	}
	img := p.Images[0]
	if gridRows <= 0 || gridCols <= 0 || gridRows*gridCols != img.Len {
		return 0, 0, fmt.Errorf("tokenizer: RopeShift: merged grid %dx%d does not match the image's %d pads", gridRows, gridCols, img.Len)
	}
	start, amount = mrope.RopeShift(img.Start, img.Len, gridRows, gridCols)
	return start, amount, nil
}

// ExtensionIDs returns a copy of the ids with the i-th image pad of the
// prompt (counting across images, in order) rewritten to vocab+i, the
// id-space trick of docs/design.md §2.5. vocab is the model's embedding count
// (config vocab_size), which must exceed every text id.
func (p *Prompt) ExtensionIDs(vocab int) []int32 {
	out, _, _ := mrope.ExtensionIDs(p.IDs, p.PadID, vocab)
	return out
}
