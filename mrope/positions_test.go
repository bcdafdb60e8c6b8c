package mrope

import (
	"strings"
	"testing"
)

func TestRopeIndexMatchesGoldenPrompts(t *testing.T) {
	in := loadInputs(t)
	for name, p := range in.Prompts {
		var grids []Grid
		if p.Image != nil {
			grids = []Grid{{in.GridMerged[0], in.GridMerged[1]}}
		}
		pos, delta, err := RopeIndex(p.IDs, imagePad, grids)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		equalPositions(t, name, pos, p.PositionsTHW)
		if delta != p.MRopeDelta {
			t.Errorf("%s: delta %d, want %d", name, delta, p.MRopeDelta)
		}
	}
}

func TestRopeIndexMatchesGoldenCases(t *testing.T) {
	cases := loadCases(t)
	two := cases["two_images"]
	pos, _, err := RopeIndex(two.IDs, imagePad, []Grid{{14, 14}, {14, 14}})
	if err != nil {
		t.Fatal(err)
	}
	equalPositions(t, "two_images", pos, two.PositionsTHW)

	dyn := cases["dynamic"]
	if len(dyn.GridTHW) != 3 || dyn.GridTHW[0] != 1 {
		t.Fatalf("dynamic grid_thw %v", dyn.GridTHW)
	}
	// The merged grid is the patch grid over the 2x2 spatial merge.
	g := Grid{dyn.GridTHW[1] / 2, dyn.GridTHW[2] / 2}
	pos, _, err = RopeIndex(dyn.IDs, imagePad, []Grid{g})
	if err != nil {
		t.Fatal(err)
	}
	equalPositions(t, "dynamic", pos, dyn.PositionsTHW)
}

// selfLocated evaluates the in-graph formula over a whole prompt plus extra
// generated indices.
func selfLocated(ext []int32, extra, vocab int, start, amount int32, mergedW int) [][3]int32 {
	out := make([][3]int32, len(ext)+extra)
	for i := range out {
		id := int32(0) // a generated token is text
		if i < len(ext) {
			id = ext[i]
		}
		out[i] = SelfLocate(id, i, vocab, start, amount, mergedW)
	}
	return out
}

// withGenerated extends RopeIndex positions by n generated tokens using
// Hugging Face's rope delta rule.
func withGenerated(pos [][3]int32, delta int32, n int) [][3]int32 {
	out := append([][3]int32(nil), pos...)
	for i := len(pos); i < len(pos)+n; i++ {
		p := int32(i) + delta
		out = append(out, [3]int32{p, p, p})
	}
	return out
}

func TestSelfLocateMatchesGoldenPrompts(t *testing.T) {
	in := loadInputs(t)
	rows, cols := in.GridMerged[0], in.GridMerged[1]
	for name, p := range in.Prompts {
		ext, first, pads := ExtensionIDs(p.IDs, imagePad, in.VocabSize)
		for i := range ext {
			if ext[i] != p.ExtIDs[i] {
				t.Fatalf("%s: ext id %d = %d, want %d", name, i, ext[i], p.ExtIDs[i])
			}
		}
		start, amount := TextOnlyShiftStart, int32(0)
		if p.Image != nil {
			if first != *p.ImageStart || pads != in.NumImageTokens {
				t.Fatalf("%s: first pad %d, pads %d; want %d, %d", name, first, pads, *p.ImageStart, in.NumImageTokens)
			}
			start, amount = RopeShift(first, pads, rows, cols)
		} else if first != -1 || pads != 0 {
			t.Fatalf("%s: text prompt reported pads at %d (%d)", name, first, pads)
		}
		if start != p.RopeShiftStart || amount != p.RopeShiftAmount {
			t.Errorf("%s: rope shift (%d, %d), want (%d, %d)", name, start, amount, p.RopeShiftStart, p.RopeShiftAmount)
		}
		got := selfLocated(ext, 0, in.VocabSize, start, amount, cols)
		equalPositions(t, name, got, p.PositionsTHW)
	}
}

// TestSelfLocateEqualsRopeIndex proves the in-graph formula equals
// get_rope_index for one image of any grid, with and without text after the
// image, for text-only prompts, and for generated tokens.
func TestSelfLocateEqualsRopeIndex(t *testing.T) {
	const vocab = 1000
	const pad = 999
	text := func(n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(10 + i)
		}
		return s
	}
	pads := func(n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = pad
		}
		return s
	}
	cat := func(parts ...[]int32) []int32 {
		var s []int32
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	for _, g := range []Grid{{14, 14}, {1, 1}, {3, 5}, {5, 3}, {15, 20}, {32, 8}} {
		n := g.Rows * g.Cols
		for name, ids := range map[string][]int32{
			"text after image": cat(text(4), pads(n), text(9)),
			"image last":       cat(text(4), pads(n)),
			"image first":      cat(pads(n), text(3)),
			"image only":       pads(n),
		} {
			want, delta, err := RopeIndex(ids, pad, []Grid{g})
			if err != nil {
				t.Fatal(err)
			}
			want = withGenerated(want, delta, 5)
			ext, first, np := ExtensionIDs(ids, pad, vocab)
			start, amount := RopeShift(first, np, g.Rows, g.Cols)
			got := selfLocated(ext, 5, vocab, start, amount, g.Cols)
			equalPositions(t, name, got, want)
		}
	}
	ids := text(30)
	want, delta, err := RopeIndex(ids, pad, nil)
	if err != nil || delta != 0 {
		t.Fatalf("text only: delta %d, err %v", delta, err)
	}
	got := selfLocated(ids, 5, vocab, TextOnlyShiftStart, 0, 14)
	equalPositions(t, "text only", got, withGenerated(want, 0, 5))
}

func TestRopeIndexErrors(t *testing.T) {
	pad := int32(7)
	for _, c := range []struct {
		name  string
		ids   []int32
		grids []Grid
		want  string
	}{
		{"missing grid", []int32{1, pad, pad}, nil, "only 0 image grid"},
		{"extra grid", []int32{1, 2}, []Grid{{1, 1}}, "1 image grid(s) given but the prompt holds 0"},
		{"short run", []int32{1, pad, pad, pad, 2}, []Grid{{2, 2}}, "found id 2 at index 4"},
		{"truncated", []int32{1, pad, pad}, []Grid{{2, 2}}, "prompt has 3 tokens"},
		{"bad grid", []int32{pad}, []Grid{{0, 1}}, "invalid merged grid 0x1"},
	} {
		_, _, err := RopeIndex(c.ids, pad, c.grids)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// Two adjacent images split by their grids.
	pos, delta, err := RopeIndex([]int32{pad, pad, pad, pad, pad}, pad, []Grid{{2, 2}, {1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	equalPositions(t, "adjacent", pos, [][3]int32{{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {2, 2, 2}})
	if delta != -2 {
		t.Errorf("adjacent delta %d, want -2", delta)
	}
}

func TestTwoTurnsSelfLocate(t *testing.T) {
	in := loadInputs(t)
	for _, mode := range []string{"fp", "q8"} {
		c := loadCases(t)["two_turns"]
		ids := c.FP.IDs
		if mode == "q8" {
			ids = c.Q8.IDs
		}
		want, _, err := RopeIndex(ids, imagePad, []Grid{{14, 14}})
		if err != nil {
			t.Fatal(err)
		}
		ext, first, pads := ExtensionIDs(ids, imagePad, in.VocabSize)
		start, amount := RopeShift(first, pads, 14, 14)
		equalPositions(t, "two_turns "+mode, selfLocated(ext, 0, in.VocabSize, start, amount, 14), want)
	}
}
