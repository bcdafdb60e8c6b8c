package decoder

import (
	"fmt"

	"github.com/vlmrt/vlmrt/mrope"
)

// Static is the per-conversation image input the decoder reads on every
// step (docs/design.md §2.3): written once per image set, shared read-only by
// every Forward of a sequence.
type Static struct {
	// ImageEmbeds [Slots, hidden]: the embedding of extension id vocab+slot.
	ImageEmbeds []float32
	// DeepstackEmbeds [features*Slots, hidden]: row k*Slots+slot is added to
	// the hidden state of slot's token after decoder layer k.
	DeepstackEmbeds []float32
	// Slots is the number of image tokens (all images, in token order).
	Slots int
	// MergedCols is the merged grid width SelfLocate needs to place an image
	// token's row and column when positions are derived in-graph; 0 means
	// a square grid of Slots tokens (the fixed 14×14 contract).
	MergedCols int
	// RopeShiftStart and RopeShiftAmount: text at index ≥ start is placed
	// amount positions earlier (mrope.RopeShift). Text-only conversations
	// use mrope.TextOnlyShiftStart and 0.
	RopeShiftStart, RopeShiftAmount int32
}

// TextOnly is the Static of a conversation without images: no slots and no
// rope shift, which makes the decoder a plain Qwen3 LLM.
func TextOnly() *Static { return &Static{RopeShiftStart: mrope.TextOnlyShiftStart} }

var textOnly = TextOnly()

// check validates st against the model's widths and, when positions are
// self-located, returns the merged grid width they need.
func (st *Static) check(m *Model, selfLocated bool) (mergedCols int, err error) {
	if st.Slots < 0 {
		return 0, fmt.Errorf("decoder: static input has %d slots", st.Slots)
	}
	if want := st.Slots * m.hidden; len(st.ImageEmbeds) != want {
		return 0, fmt.Errorf("decoder: image_embeds has %d values, want %d slots × hidden %d = %d", len(st.ImageEmbeds), st.Slots, m.hidden, want)
	}
	if want := m.deepstack * st.Slots * m.hidden; len(st.DeepstackEmbeds) != want {
		return 0, fmt.Errorf("decoder: deepstack_embeds has %d values, want %d features × %d slots × hidden %d = %d", len(st.DeepstackEmbeds), m.deepstack, st.Slots, m.hidden, want)
	}
	mergedCols = st.MergedCols
	if mergedCols == 0 && st.Slots > 0 && selfLocated {
		for mergedCols*mergedCols < st.Slots {
			mergedCols++
		}
		if mergedCols*mergedCols != st.Slots {
			return 0, fmt.Errorf("decoder: %d image slots are not a square grid; set Static.MergedCols or pass explicit positions", st.Slots)
		}
	}
	if mergedCols < 0 {
		return 0, fmt.Errorf("decoder: static MergedCols %d is negative", mergedCols)
	}
	return mergedCols, nil
}
