package coreai

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/mrope"
)

// Static are the decoder's four static inputs (docs/design.md §2.3), in float32
// on the Go side and float16 in the graph.
type Static struct {
	// ImageEmbeds [Slots*Hidden] and DeepstackEmbeds [Deepstack*Slots*Hidden]
	// (feature-major: row k*Slots+slot). Both nil in SetStatic keeps the
	// embeddings the static inputs hold (such as EncodeImage wrote).
	ImageEmbeds, DeepstackEmbeds []float32
	// RopeShiftStart, RopeShiftAmount: text at a position ≥ start is rotated
	// as if amount positions earlier (mrope.RopeShift; text-only:
	// mrope.TextOnlyShiftStart, 0).
	RopeShiftStart, RopeShiftAmount int32
}

// EncodeImage runs the vision bundle on one image's patches [Patches,
// PatchDim] (vision.Patches' layout, float32; sent as float16, the graph's
// dtype) and writes its image_embeds and deepstack_embeds into the static
// inputs. The conversation holds at most one image; the host then sets the
// rope shift with SetStatic once it knows where the image starts.
func (s *Session) EncodeImage(ctx context.Context, patches []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "encode image"); err != nil {
		return err
	}
	if s.info.Patches == 0 {
		return contractf("encode image: no vision bundle was opened")
	}
	if err := s.checkSecondImage(); err != nil {
		return err
	}
	want := s.info.Patches * s.info.PatchDim
	if len(patches) != want {
		return contractf("encode image: %d patch values, the vision graph takes patches [%d, %d] = %d (one %d-slot fixed-grid image)",
			len(patches), s.info.Patches, s.info.PatchDim, want, s.info.Slots)
	}
	h, err := toF16("patches", patches)
	if err != nil {
		return err
	}
	if err := call("vlmrt_coreai_encode_image", func(e *byte, n uintptr) int32 {
		return s.b.encodeImage(s.h, &h[0], uintptr(len(h)), e, n)
	}); err != nil {
		return err // embeddings half-written at worst; a retry overwrites them all
	}
	s.image = true
	return nil
}

// checkSecondImage refuses a second image: the graph's extension ids
// address one image's Slots rows and one rope shift.
func (s *Session) checkSecondImage() error {
	if s.image {
		return contractf("the Core AI decoder holds one fixed-grid image (%d slots) per conversation and this one has an image; Reset to start another",
			s.info.Slots)
	}
	return nil
}

// SetStatic writes the static inputs: embeddings computed elsewhere (both
// slices, full size — this places the conversation's one image) or none
// (both nil: keep the current ones), and the rope shift, which must be the
// text-only one (amount 0) or an image's (mrope.RopeShift: start = the
// image's first position + Slots, amount = Slots − GridSide).
func (s *Session) SetStatic(ctx context.Context, st Static) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "set static inputs"); err != nil {
		return err
	}
	withEmbeds := st.ImageEmbeds != nil || st.DeepstackEmbeds != nil
	var embeds, deepstack []uint16
	if withEmbeds {
		if err := s.checkSecondImage(); err != nil {
			return err
		}
		i := s.info
		if len(st.ImageEmbeds) != i.Slots*i.Hidden || len(st.DeepstackEmbeds) != i.Deepstack*i.Slots*i.Hidden {
			return contractf("set static inputs: image_embeds holds %d values and deepstack_embeds %d; the graph takes [%d, %d] = %d and [%d, %d] = %d",
				len(st.ImageEmbeds), len(st.DeepstackEmbeds), i.Slots, i.Hidden, i.Slots*i.Hidden, i.Deepstack*i.Slots, i.Hidden, i.Deepstack*i.Slots*i.Hidden)
		}
		var err error
		if embeds, err = toF16("image_embeds", st.ImageEmbeds); err != nil {
			return err
		}
		if deepstack, err = toF16("deepstack_embeds", st.DeepstackEmbeds); err != nil {
			return err
		}
	}
	if err := s.checkShift(st.RopeShiftStart, st.RopeShiftAmount, s.image || withEmbeds); err != nil {
		return err
	}
	if err := call("vlmrt_coreai_set_static", func(e *byte, n uintptr) int32 {
		return s.b.setStatic(s.h, first(embeds), first(deepstack), st.RopeShiftStart, st.RopeShiftAmount, e, n)
	}); err != nil {
		s.broken = err // which of the four inputs were written is unknown
		return err
	}
	s.image = s.image || withEmbeds
	s.shiftStart, s.shiftAmount = st.RopeShiftStart, st.RopeShiftAmount
	return nil
}

// checkShift accepts the two shapes of rope shift the seed's host sets.
// Whether the shift matches where the image actually sits is checked per
// token in Step, where the positions are known.
func (s *Session) checkShift(start, amount int32, image bool) error {
	if amount == 0 {
		if start < 0 {
			return contractf("rope_shift_start %d is negative", start)
		}
		return nil
	}
	if !image {
		return contractf("rope shift amount %d without an image: a text-only conversation uses start %d, amount 0", amount, mrope.TextOnlyShiftStart)
	}
	_, want := mrope.RopeShift(0, s.info.Slots, s.info.GridSide, s.info.GridSide)
	if amount != want || start < int32(s.info.Slots) {
		return contractf("rope shift (start %d, amount %d): one %d×%d fixed-grid image shifts text by %d from its first position + %d",
			start, amount, s.info.GridSide, s.info.GridSide, want, s.info.Slots)
	}
	if s.imageStart >= 0 && start != s.imageStart+int32(s.info.Slots) {
		return contractf("rope_shift_start %d, but the image occupies positions %d..%d: the shift starts at %d",
			start, s.imageStart, s.imageStart+int32(s.info.Slots)-1, s.imageStart+int32(s.info.Slots))
	}
	return nil
}

// Static reads the static inputs back from the bridge (float16 widened).
func (s *Session) Static(ctx context.Context) (Static, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == 0 {
		return Static{}, fmt.Errorf("coreai: read static inputs: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return Static{}, fmt.Errorf("coreai: read static inputs: %w", err)
	}
	i := s.info
	embeds := make([]uint16, i.Slots*i.Hidden)
	deepstack := make([]uint16, i.Deepstack*i.Slots*i.Hidden)
	var st Static
	if err := call("vlmrt_coreai_get_static", func(e *byte, n uintptr) int32 {
		return s.b.getStatic(s.h, first(embeds), first(deepstack), &st.RopeShiftStart, &st.RopeShiftAmount, e, n)
	}); err != nil {
		return Static{}, err
	}
	st.ImageEmbeds, st.DeepstackEmbeds = fromF16(embeds), fromF16(deepstack)
	return st, nil
}

// first is the address of a slice's first element, nil (C NULL) for an
// empty slice.
func first[T any](x []T) *T {
	if len(x) == 0 {
		return nil
	}
	return &x[0]
}

// toF16 rounds values to float16, refusing what float16 cannot hold (NaN,
// infinities, magnitudes past 65504): the graph would silently propagate them.
func toF16(name string, x []float32) ([]uint16, error) {
	h := make([]uint16, len(x))
	for i, v := range x {
		h[i] = f16.FromF32(v)
		if h[i]&0x7c00 == 0x7c00 {
			return nil, contractf("%s[%d] = %v does not fit float16, the graph input's dtype", name, i, float64(v))
		}
	}
	return h, nil
}

func fromF16(h []uint16) []float32 {
	x := make([]float32, len(h))
	for i, v := range h {
		x[i] = f16.ToF32(v)
	}
	return x
}
