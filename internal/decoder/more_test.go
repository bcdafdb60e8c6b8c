package decoder

import (
	"context"
	"slices"
	"testing"

	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
)

// TestTwoImages runs the general form: two 14×14 images in one prompt with
// explicit positions from mrope.RopeIndex, both images' embeddings (and
// DeepStack rows) concatenated in token order.
func TestTwoImages(t *testing.T) {
	c := loadCases(t)["two_images"]
	vf := tensorFile(t, "vision.safetensors")
	const slots = 196
	var ie, ds []float32
	var dsParts [2][]float32
	for i, img := range []string{"image1", "image2"} {
		ie = append(ie, f32(t, vf, img+".image_embeds")...)
		dsParts[i] = f32(t, vf, img+".deepstack_embeds")
	}
	for _, p := range []weights.Precision{weights.F32, weights.Int8} {
		m := tinyA(t, p)
		h := m.Hidden()
		nds := m.DeepstackFeatures()
		if ds == nil {
			// Row k*(2*196) + slot: feature k of every image, images in order.
			for k := 0; k < nds; k++ {
				for _, part := range dsParts {
					ds = append(ds, part[k*slots*h:(k+1)*slots*h]...)
				}
			}
		}
		t.Run(modeOf(p), func(t *testing.T) {
			pos, delta, err := mrope.RopeIndex(c.IDs, imagePad, []mrope.Grid{{Rows: 14, Cols: 14}, {Rows: 14, Cols: 14}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, c.PositionsTHW) {
				t.Fatal("RopeIndex positions differ from the golden positions_thw")
			}
			ext, _, pads := mrope.ExtensionIDs(c.IDs, imagePad, m.Vocab())
			if pads != 2*slots {
				t.Fatalf("%d image tokens, want %d", pads, 2*slots)
			}
			st := &Static{ImageEmbeds: ie, DeepstackEmbeds: ds, Slots: 2 * slots}
			cache := m.NewCache()
			logits := make([]float32, m.Vocab())
			ctx := context.Background()
			mid := len(ext) / 2
			if err := m.Forward(ctx, cache, ext[:mid], pos[:mid], st, NoLogits, nil); err != nil {
				t.Fatal(err)
			}
			if err := m.Forward(ctx, cache, ext[mid:], pos[mid:], st, LastLogits, logits); err != nil {
				t.Fatal(err)
			}
			g := c.FP
			if p == weights.Int8 {
				g = c.Q8
			}
			greedyCompare(t, m, cache, st, logits, make([][3]int32, 1), delta, g.Greedy, g.Margins, logitTol)
		})
	}
}

// TestTwoTurns reuses the KV cache of turn 1 and its reply: only the new
// tokens of turn 2 are run, and the continuation matches the oracle, which
// ran the whole two-turn prompt.
func TestTwoTurns(t *testing.T) {
	in := loadInputs(t)
	c := loadCases(t)["two_turns"]
	turn1 := in.Prompts["image"]
	for _, p := range []weights.Precision{weights.F32, weights.Int8} {
		mode := modeOf(p)
		t.Run(mode, func(t *testing.T) {
			m := tinyA(t, p)
			g := c.FP
			if p == weights.Int8 {
				g = c.Q8
			}
			reply := loadDecoderGolden(t, mode)["image"].Greedy
			n1 := len(turn1.IDs)
			if !slices.Equal(g.IDs[:n1], turn1.IDs) || !slices.Equal(g.IDs[n1:n1+len(reply.Tokens)], reply.Tokens) {
				t.Fatal("two_turns ids do not start with the image prompt and its golden reply")
			}
			ext, first, _ := mrope.ExtensionIDs(g.IDs, imagePad, m.Vocab())
			st := imageStatic(t, "image1", first)
			ctx := context.Background()
			cache := m.NewCache()
			logits := make([]float32, m.Vocab())
			if err := m.Forward(ctx, cache, ext[:n1], nil, st, LastLogits, logits); err != nil {
				t.Fatal(err)
			}
			// Turn 1's reply, generated and fed on this cache.
			greedyCompare(t, m, cache, st, logits, nil, 0, reply.Tokens, reply.Top2Margin, logitTol)
			// Turn 2: only the tokens the cache does not hold yet (any reply
			// tokens greedyCompare did not feed, then the new user turn).
			if err := m.Forward(ctx, cache, ext[cache.Len():], nil, st, LastLogits, logits); err != nil {
				t.Fatal(err)
			}
			greedyCompare(t, m, cache, st, logits, nil, 0, g.Greedy, g.Margins, logitTol)
		})
	}
}
