package mrope

import "fmt"

// TextOnlyShiftStart is the rope_shift_start of a conversation without an
// image: no sequence index reaches it, so no text position is ever shifted.
const TextOnlyShiftStart int32 = 1 << 30

// SelfLocate computes the (t, h, w) rotary position of the token at
// sequence index pos from its id alone (docs/design.md §2.6). An extension id
// vocab+slot is an image token of a merged grid mergedW columns wide whose
// first token sits at pos-slot; any other id is text, shifted back by
// shiftAmount once pos reaches shiftStart (an image advances the rope
// position by max(rows, cols), not by its token count).
func SelfLocate(id int32, pos int, vocab int, shiftStart, shiftAmount int32, mergedW int) [3]int32 {
	if int(id) >= vocab && mergedW > 0 {
		slot := int32(int(id) - vocab)
		s0 := int32(pos) - slot
		w := int32(mergedW)
		return [3]int32{s0, s0 + slot/w, s0 + slot%w}
	}
	p := int32(pos)
	if p >= shiftStart {
		p -= shiftAmount
	}
	return [3]int32{p, p, p}
}

// RopeShift returns the host-side static inputs for one image whose first
// <|image_pad|> is at sequence index firstPad, with pads = rows*cols merged
// tokens: text from firstPad+pads on is shifted back by pads - max(rows, cols)
// (the advance Cursor.Image makes instead of pads).
func RopeShift(firstPad, pads, rows, cols int) (start, amount int32) {
	return int32(firstPad + pads), int32(pads) - imageAdvance(Grid{rows, cols})
}

// Grid is one image's merged token grid (rows × cols image tokens).
type Grid struct{ Rows, Cols int }

// ExtensionID is the id of image token slot (counted across every image of
// the sequence, in order): vocab+slot, the id-space trick of
// docs/design.md §2.5 that lets the embedding lookup read image rows.
func ExtensionID(vocab, slot int) int32 { return int32(vocab + slot) }

// Cursor is Hugging Face's get_rope_index rule as a running position, so a
// conversation continues it turn after turn (the rule is translation
// invariant). Next is the position the next text token takes.
type Cursor struct{ Next int32 }

// Text returns the next text token's (t, h, w) position and advances.
func (c *Cursor) Text() [3]int32 {
	p := c.Next
	c.Next++
	return [3]int32{p, p, p}
}

// Image writes the positions of an image block on grid g into dst
// (len ≥ Rows*Cols): token k at (s0, s0+k/Cols, s0+k%Cols). Text after it
// continues at s0 + max(Rows, Cols).
func (c *Cursor) Image(g Grid, dst [][3]int32) {
	s0 := c.Next
	for k := range g.Rows * g.Cols {
		dst[k] = [3]int32{s0, s0 + int32(k/g.Cols), s0 + int32(k%g.Cols)}
	}
	c.Next = s0 + imageAdvance(g)
}

// imageAdvance is how far an image block moves the rope position.
func imageAdvance(g Grid) int32 { return int32(max(g.Rows, g.Cols)) }

// RopeIndex is Hugging Face's get_rope_index for a prompt holding any number
// of images (single frames). ids carry imageTokenID for every image token;
// grids lists each image's merged grid in prompt order, and image k takes
// the next grids[k].Rows*Cols image tokens (so adjacent images need no
// separator). Text continues at the previous maximum + 1; an image block
// starting at s0 has (t, h, w) = (s0, s0+row, s0+col); text after it
// continues at s0 + max(rows, cols). delta is max position + 1 - len(ids):
// generated token i (sequence index len(ids)+i) sits at index + delta on all
// three axes.
func RopeIndex(ids []int32, imageTokenID int32, grids []Grid) (positions [][3]int32, delta int32, err error) {
	positions = make([][3]int32, len(ids))
	var cur Cursor
	img := 0
	for i := 0; i < len(ids); {
		if ids[i] != imageTokenID {
			positions[i] = cur.Text()
			i++
			continue
		}
		if img >= len(grids) {
			return nil, 0, fmt.Errorf("mrope: image token at index %d but only %d image grid(s) given", i, len(grids))
		}
		g := grids[img]
		if g.Rows <= 0 || g.Cols <= 0 {
			return nil, 0, fmt.Errorf("mrope: image %d has invalid merged grid %dx%d", img, g.Rows, g.Cols)
		}
		n := g.Rows * g.Cols
		if i+n > len(ids) {
			return nil, 0, fmt.Errorf("mrope: image %d (grid %dx%d) needs %d image tokens from index %d, prompt has %d tokens", img, g.Rows, g.Cols, n, i, len(ids))
		}
		for k := 0; k < n; k++ {
			if ids[i+k] != imageTokenID {
				return nil, 0, fmt.Errorf("mrope: image %d (grid %dx%d) needs %d image tokens from index %d, found id %d at index %d", img, g.Rows, g.Cols, n, i, ids[i+k], i+k)
			}
		}
		cur.Image(g, positions[i:i+n])
		i += n
		img++
	}
	if img != len(grids) {
		return nil, 0, fmt.Errorf("mrope: %d image grid(s) given but the prompt holds %d image(s)", len(grids), img)
	}
	// Next is max position + 1: text positions are increasing and an image
	// block's largest coordinate is s0 + max(rows, cols) - 1.
	return positions, cur.Next - int32(len(ids)), nil
}

// ExtensionIDs rewrites the i-th imageTokenID of ids to the extension id
// vocab+i (docs/design.md §2.5), the form SelfLocate and the decoder's fixed-grid
// contract read. It returns the index of the first image token (-1 when
// there is none) and the number of image tokens. ids is not modified.
func ExtensionIDs(ids []int32, imageTokenID int32, vocab int) (ext []int32, firstPad, pads int) {
	ext = make([]int32, len(ids))
	firstPad = -1
	for i, id := range ids {
		if id != imageTokenID {
			ext[i] = id
			continue
		}
		if firstPad < 0 {
			firstPad = i
		}
		ext[i] = ExtensionID(vocab, pads)
		pads++
	}
	return ext, firstPad, pads
}
