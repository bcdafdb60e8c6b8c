//go:build (darwin || linux) && (amd64 || arm64)

package coreai

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/mrope"
)

// TestContract drives every seed-contract check and verifies each one
// fails with ErrContract naming the limit before any bridge call.
func TestContract(t *testing.T) {
	ctx := context.Background()
	logits := make([]float32, fakeVocab)
	// stepAll steps ids from the session's current length on.
	stepAll := func(t *testing.T, s *Session, ids ...int32) {
		t.Helper()
		for _, id := range ids {
			if err := s.Step(ctx, []int32{id}, int32(s.Len()), logits); err != nil {
				t.Fatal(err)
			}
		}
	}
	imageIDs := func(from, to int32) []int32 {
		var ids []int32
		for slot := from; slot < to; slot++ {
			ids = append(ids, fakeVocab+slot)
		}
		return ids
	}
	embeds := Static{ImageEmbeds: make([]float32, fakeSlots*fakeHidden), DeepstackEmbeds: make([]float32, fakeDeepstack*fakeSlots*fakeHidden),
		RopeShiftStart: mrope.TextOnlyShiftStart}

	cases := []struct {
		name   string
		vision bool
		setup  func(t *testing.T, s *Session)
		call   func(s *Session) error
		want   string
	}{
		{"S=2", false, nil, func(s *Session) error { return s.Step(ctx, []int32{1, 2}, 0, logits) }, "exactly one (S=1"},
		{"S=0", false, nil, func(s *Session) error { return s.Step(ctx, nil, 0, logits) }, "step got 0 tokens"},
		{"logits size", false, nil, func(s *Session) error { return s.Step(ctx, []int32{1}, 0, logits[:10]) }, "logits are [1,1,1000]"},
		{"position gap", false, func(t *testing.T, s *Session) { stepAll(t, s, 1, 2) },
			func(s *Session) error { return s.Step(ctx, []int32{1}, 5, logits) }, "KV cache holds 2 tokens"},
		{"position rewind", false, func(t *testing.T, s *Session) { stepAll(t, s, 1, 2) },
			func(s *Session) error { return s.Step(ctx, []int32{1}, 1, logits) }, "appends at the end"},
		{"negative id", false, nil, func(s *Session) error { return s.Step(ctx, []int32{-1}, 0, logits) }, "outside the vocabulary"},
		{"id past the slots", true, nil, func(s *Session) error { return s.Step(ctx, []int32{fakeVocab + fakeSlots}, 0, logits) }, "image extension ids 1000..1195"},
		{"extension id without image", true, nil, func(s *Session) error { return s.Step(ctx, []int32{fakeVocab}, 0, logits) }, "no image is in the static inputs"},
		{"image not from slot 0", true, func(t *testing.T, s *Session) { must(t, s.EncodeImage(ctx, testPatches())) },
			func(s *Session) error { return s.Step(ctx, []int32{fakeVocab + 1}, 0, logits) }, "image slot 1 at position 0, want slot 0"},
		{"image slot skipped", true, func(t *testing.T, s *Session) {
			must(t, s.EncodeImage(ctx, testPatches()))
			stepAll(t, s, imageIDs(0, 5)...)
		},
			func(s *Session) error { return s.Step(ctx, []int32{fakeVocab + 6}, 5, logits) }, "want slot 5"},
		{"text inside the image", true, func(t *testing.T, s *Session) {
			must(t, s.EncodeImage(ctx, testPatches()))
			stepAll(t, s, imageIDs(0, 5)...)
		},
			func(s *Session) error { return s.Step(ctx, []int32{7}, 5, logits) }, "inside the image: slots 5..195"},
		{"second image by EncodeImage", true, func(t *testing.T, s *Session) { must(t, s.EncodeImage(ctx, testPatches())) },
			func(s *Session) error { return s.EncodeImage(ctx, testPatches()) }, "one fixed-grid image (196 slots) per conversation"},
		{"second image by SetStatic", true, func(t *testing.T, s *Session) { must(t, s.EncodeImage(ctx, testPatches())) },
			func(s *Session) error { return s.SetStatic(ctx, embeds) }, "one fixed-grid image (196 slots) per conversation"},
		{"second image's tokens", true, func(t *testing.T, s *Session) {
			must(t, s.EncodeImage(ctx, testPatches()))
			stepAll(t, s, imageIDs(0, fakeSlots)...)
		}, func(s *Session) error { return s.Step(ctx, []int32{fakeVocab}, fakeSlots, logits) }, "one fixed-grid image per conversation"},
		{"text after the image without the rope shift", true, func(t *testing.T, s *Session) {
			must(t, s.EncodeImage(ctx, testPatches()))
			stepAll(t, s, 9)
			stepAll(t, s, imageIDs(0, fakeSlots)...)
		}, func(s *Session) error { return s.Step(ctx, []int32{7}, 1+fakeSlots, logits) }, "set it to (197, 182) with SetStatic"},
		{"rope shift that would move text before the image", true, func(t *testing.T, s *Session) {
			must(t, s.EncodeImage(ctx, testPatches()))
			must(t, s.SetStatic(ctx, Static{RopeShiftStart: fakeSlots, RopeShiftAmount: fakeSlots - fakeSide}))
			stepAll(t, s, make([]int32, fakeSlots)...)
		}, func(s *Session) error { return s.Step(ctx, []int32{7}, fakeSlots, logits) }, "would be rotated at 14, want 196"},
		{"rope shift at the wrong start", true, func(t *testing.T, s *Session) {
			must(t, s.EncodeImage(ctx, testPatches()))
			stepAll(t, s, 9, 9)
			stepAll(t, s, imageIDs(0, fakeSlots)...)
		}, func(s *Session) error {
			return s.SetStatic(ctx, Static{RopeShiftStart: fakeSlots + 1, RopeShiftAmount: fakeSlots - fakeSide})
		}, "the image occupies positions 2..197: the shift starts at 198"},
		{"rope shift amount", true, func(t *testing.T, s *Session) { must(t, s.EncodeImage(ctx, testPatches())) },
			func(s *Session) error { return s.SetStatic(ctx, Static{RopeShiftStart: 300, RopeShiftAmount: 195}) }, "shifts text by 182"},
		{"rope shift without image", true, nil,
			func(s *Session) error { return s.SetStatic(ctx, Static{RopeShiftStart: 300, RopeShiftAmount: 182}) }, "without an image"},
		{"negative rope start", true, nil,
			func(s *Session) error { return s.SetStatic(ctx, Static{RopeShiftStart: -1}) }, "rope_shift_start -1 is negative"},
		{"patches size", true, nil, func(s *Session) error { return s.EncodeImage(ctx, make([]float32, 100)) }, "patches [784, 1536]"},
		{"patches NaN", true, nil, func(s *Session) error {
			p := testPatches()
			p[12345] = float32(math.NaN())
			return s.EncodeImage(ctx, p)
		}, "patches[12345] = NaN does not fit float16"},
		{"patches too large for float16", true, nil, func(s *Session) error {
			p := testPatches()
			p[7] = 70000
			return s.EncodeImage(ctx, p)
		}, "patches[7] = 70000"},
		{"no vision bundle", false, nil, func(s *Session) error { return s.EncodeImage(ctx, testPatches()) }, "no vision bundle"},
		{"embeds size", true, nil, func(s *Session) error {
			return s.SetStatic(ctx, Static{ImageEmbeds: make([]float32, 5), DeepstackEmbeds: embeds.DeepstackEmbeds})
		}, "image_embeds holds 5 values"},
		{"embeds without deepstack", true, nil, func(s *Session) error {
			return s.SetStatic(ctx, Static{ImageEmbeds: embeds.ImageEmbeds})
		}, "deepstack_embeds 0"},
	}
	f := newFake(t) // one library for all cases: each case has its own session
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := f.open(tc.vision)
			if tc.setup != nil {
				tc.setup(t, s)
			}
			before := f.log()
			lenBefore := s.Len()
			err := tc.call(s)
			if !errors.Is(err, ErrContract) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrContract containing %q", err, tc.want)
			}
			if after := f.log(); !slices.Equal(after, before) {
				t.Fatalf("the refused call reached the bridge: %v", after[len(before):])
			}
			if s.Len() != lenBefore {
				t.Fatalf("Len changed from %d to %d", lenBefore, s.Len())
			}
			// A refused call leaves the session usable.
			if err := s.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Step(ctx, []int32{3}, 0, logits); err != nil {
				t.Fatalf("step after a refused call and Reset: %v", err)
			}
		})
	}
}

func TestContextFull(t *testing.T) {
	f := newFake(t)
	f.setMaxContext(3)
	s := f.open(false)
	ctx := context.Background()
	logits := make([]float32, fakeVocab)
	for pos := int32(0); pos < 3; pos++ {
		must(t, s.Step(ctx, []int32{1}, pos, logits))
	}
	before := len(f.log())
	err := s.Step(ctx, []int32{1}, 3, logits)
	if !errors.Is(err, ErrContextFull) || !strings.Contains(err.Error(), "max_context = 3") {
		t.Fatalf("step past max_context = %v, want ErrContextFull", err)
	}
	if len(f.log()) != before {
		t.Fatal("the refused step reached the bridge")
	}
}

func TestCancelledContextMakesNoCall(t *testing.T) {
	f := newFake(t)
	s := f.open(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := len(f.log())
	logits := make([]float32, fakeVocab)
	for name, err := range map[string]error{
		"step":   s.Step(ctx, []int32{1}, 0, logits),
		"encode": s.EncodeImage(ctx, testPatches()),
		"static": s.SetStatic(ctx, Static{RopeShiftStart: mrope.TextOnlyShiftStart}),
		"reset":  s.Reset(ctx),
		"read":   func() error { _, err := s.Static(ctx); return err }(),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
		}
	}
	if len(f.log()) != before {
		t.Fatalf("calls with a cancelled context reached the bridge: %v", f.log()[before:])
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
