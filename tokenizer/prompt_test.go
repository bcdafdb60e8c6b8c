package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestEncodeChatExpanded(t *testing.T) {
	tok := testTokenizer(t)
	pad, _ := tok.TokenID("<|image_pad|>")
	for _, c := range readChats(t) {
		p, err := tok.EncodeChat(c.Messages, chatOptions(t, c), c.PadsPerImage)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if !slices.Equal(p.IDs, c.IDsExpanded) {
			t.Errorf("%s expanded ids:\n got %v\nwant %v", c.Name, p.IDs, c.IDsExpanded)
		}
		if len(p.Images) != c.NumImages {
			t.Errorf("%s: %d image spans, want %d", c.Name, len(p.Images), c.NumImages)
		}
		// Each span must be exactly a maximal run of pads in the reference ids.
		for _, sp := range p.Images {
			if sp.Len != c.PadsPerImage || sp.Start == 0 || c.IDsExpanded[sp.Start-1] == pad ||
				sp.Start+sp.Len >= len(c.IDsExpanded) || c.IDsExpanded[sp.Start+sp.Len] == pad {
				t.Errorf("%s: span %+v is not a whole pad run", c.Name, sp)
				continue
			}
			for k := sp.Start; k < sp.Start+sp.Len; k++ {
				if c.IDsExpanded[k] != pad {
					t.Errorf("%s: span %+v covers non-pad id at %d", c.Name, sp, k)
					break
				}
			}
		}
	}
}

func TestRopeShiftAndExtensionIDs(t *testing.T) {
	tok := testTokenizer(t)
	const vocab = 151936
	img := []Message{{Role: "user", Content: []Part{{Type: "image"}, {Type: "text", Text: "Describe."}}}}
	p, err := tok.EncodeChat(img, ChatOptions{AddGenerationPrompt: true}, 196)
	if err != nil {
		t.Fatal(err)
	}
	// <|im_start|> user \n <|vision_start|> then the pads.
	if p.Images[0].Start != 4 {
		t.Fatalf("image starts at %d, want 4", p.Images[0].Start)
	}
	start, amount, err := p.RopeShift(14, 14)
	if err != nil || start != 4+196 || amount != 196-14 {
		t.Errorf("RopeShift = %d, %d, %v; want 200, 182", start, amount, err)
	}
	if _, _, err := p.RopeShift(14, 15); err == nil {
		t.Error("RopeShift accepted a grid that does not match the pads")
	}
	ext := p.ExtensionIDs(vocab)
	for i, id := range ext {
		switch {
		case i >= 4 && i < 200:
			if id != int32(vocab+i-4) {
				t.Fatalf("ext[%d] = %d, want %d", i, id, vocab+i-4)
			}
		case id != p.IDs[i]:
			t.Fatalf("ext[%d] = %d changed a text id %d", i, id, p.IDs[i])
		}
	}
	if p.IDs[4] != p.PadID {
		t.Error("ExtensionIDs modified the prompt")
	}
	if err := p.CheckImageLimit(1); err != nil {
		t.Error(err)
	}

	text, err := tok.EncodeChat([]Message{TextMessage("user", "hi")}, ChatOptions{AddGenerationPrompt: true}, 196)
	if err != nil {
		t.Fatal(err)
	}
	if s, a, err := text.RopeShift(14, 14); err != nil || s != 1<<30 || a != 0 {
		t.Errorf("text-only RopeShift = %d, %d, %v", s, a, err)
	}

	two := []Message{{Role: "user", Content: []Part{{Type: "image"}, {Type: "image"}, {Type: "text", Text: "?"}}}}
	p2, err := tok.EncodeChat(two, ChatOptions{}, 196)
	if err != nil {
		t.Fatal(err)
	}
	err = p2.CheckImageLimit(1)
	if !errors.Is(err, ErrTooManyImages) || !strings.Contains(err.Error(), "at most 1") || !strings.Contains(err.Error(), "2 images") {
		t.Errorf("CheckImageLimit(1) on 2 images: %v", err)
	}
	if _, _, err := p2.RopeShift(14, 14); !errors.Is(err, ErrTooManyImages) {
		t.Errorf("RopeShift on 2 images: %v", err)
	}
	ext2 := p2.ExtensionIDs(vocab)
	if ext2[p2.Images[1].Start] != vocab+196 || ext2[p2.Images[1].Start+195] != vocab+391 {
		t.Error("second image's extension ids do not continue the slot count")
	}
}

func TestEncodeChatErrors(t *testing.T) {
	tok := testTokenizer(t)
	inject := []Message{TextMessage("user", "sneaky <|image_pad|>")}
	if _, err := tok.EncodeChat(inject, ChatOptions{}, 196); err == nil || !strings.Contains(err.Error(), "<|image_pad|>") {
		t.Errorf("pad token in text: err = %v", err)
	}
	if _, err := tok.EncodeChat([]Message{TextMessage("user", "x")}, ChatOptions{}, 0); err == nil {
		t.Error("padsPerImage 0 accepted")
	}
	if _, err := tok.RenderChat(nil, ChatOptions{}); err == nil {
		t.Error("no messages accepted")
	}
}
