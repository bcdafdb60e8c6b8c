//go:build (darwin || linux) && (amd64 || arm64)

package coreai

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/mrope"
)

func TestOpenErrors(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	dec, vis := bundles(t)

	missing := filepath.Join(t.TempDir(), "no-such-bundle")
	_, err := f.b.openSession(ctx, missing, vis)
	var be *BridgeError
	if !errors.As(err, &be) || be.Call != "vlmrt_coreai_open" || be.Status != statusError || !strings.Contains(be.Message, missing+": not a directory") {
		t.Fatalf("open(missing decoder) = %v, want the bridge's error from vlmrt_coreai_open", err)
	}
	if !strings.Contains(err.Error(), "coreai: vlmrt_coreai_open: decoder bundle "+missing) {
		t.Errorf("error text %q does not name the call and the path", err)
	}

	before := len(f.log())
	for _, tc := range []struct{ dec, vis, want string }{
		{"", vis, "no decoder bundle"},
		{dec + "\x00x", vis, "NUL byte"},
		{dec, vis + "\x00", "NUL byte"},
	} {
		if _, err := f.b.openSession(ctx, tc.dec, tc.vis); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("open(%q, %q) = %v, want %q", tc.dec, tc.vis, err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.b.openSession(cancelled, dec, vis); !errors.Is(err, context.Canceled) {
		t.Errorf("open(cancelled) = %v, want context.Canceled", err)
	}
	if got := f.log()[before:]; len(got) != 0 {
		t.Errorf("argument errors reached the bridge: %v", got)
	}

	// An "unavailable" status (Core AI missing on this OS) matches ErrUnavailable.
	f.fail("open", statusUnavailable, "Core AI needs macOS 27")
	_, err = f.b.openSession(ctx, dec, vis)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "Core AI needs macOS 27") {
		t.Fatalf("open with status 3 = %v, want ErrUnavailable with the bridge's message", err)
	}
	f.fail("", 0, "")

	// A failure after the handle exists (info) closes the handle.
	f.fail("info", statusError, "graph descriptor unreadable")
	_, err = f.b.openSession(ctx, dec, vis)
	if !errors.As(err, &be) || be.Call != "vlmrt_coreai_info" || be.Message != "graph descriptor unreadable" {
		t.Fatalf("open with failing info = %v, want the vlmrt_coreai_info error", err)
	}
	if n := f.live(); n != 0 {
		t.Fatalf("%d live handles after a failed open, want 0", n)
	}
}

func TestOpenCancelledDuringLoad(t *testing.T) {
	f := newFake(t)
	f.setOpenDelay(500)
	dec, vis := bundles(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.b.openSession(ctx, dec, vis)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("open = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("open returned after %v: it waited for the load instead of the context", d)
	}
	// The abandoned load finishes and its handle is closed.
	deadline := time.Now().Add(5 * time.Second)
	for f.live() != 0 || !slices.Contains(f.log(), "close h=1") {
		if time.Now().After(deadline) {
			t.Fatalf("abandoned handle not closed: live %d, log %v", f.live(), f.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStepExactLogitsTextOnly(t *testing.T) {
	f := newFake(t)
	s := f.open(false)
	if got := s.Info(); got.Patches != 0 || got.PatchDim != 0 || got.Vocab != fakeVocab {
		t.Fatalf("text-only Info = %+v", got)
	}
	ctx := context.Background()
	var m toy
	logits := make([]float32, fakeVocab)
	for pos, id := range []int32{151 % fakeVocab, 0, 96, 97, 999, 5} {
		if err := s.Step(ctx, []int32{id}, int32(pos), logits); err != nil {
			t.Fatal(err)
		}
		p := int32(pos)
		if want := m.step(textE(id), [3]int32{p, p, p}); !slices.Equal(logits, want) {
			t.Fatalf("step %d (id %d): logits[:4] = %v, want %v", pos, id, logits[:4], want[:4])
		}
	}
	if s.Len() != 6 {
		t.Fatalf("Len = %d, want 6", s.Len())
	}

	// Reset empties the cache: the same first step gives the same logits.
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	m = toy{}
	if err := s.Step(ctx, []int32{42}, 0, logits); err != nil {
		t.Fatal(err)
	}
	if want := m.step(textE(42), [3]int32{}); !slices.Equal(logits, want) {
		t.Fatalf("after Reset: logits[:4] = %v, want %v", logits[:4], want[:4])
	}
}

// testPatches are patch values float16 holds exactly (multiples of 1/8 in
// [-4, 4)), different per row.
func testPatches() []float32 {
	p := make([]float32, fakePatches*fakePatchDim)
	for r := 0; r < fakePatches; r++ {
		for c := 0; c < fakePatchDim; c++ {
			p[r*fakePatchDim+c] = float32((r*7+c)%64)*0.125 - 4
		}
	}
	return p
}

// TestImageConversation runs a whole prompt with one image through the
// fake: text, the 196 extension ids, the host's rope shift, text after
// the image; every logit is checked.
func TestImageConversation(t *testing.T) {
	f := newFake(t)
	s := f.open(true)
	ctx := context.Background()
	patches := testPatches()
	if err := s.EncodeImage(ctx, patches); err != nil {
		t.Fatal(err)
	}
	var m toy
	logits := make([]float32, fakeVocab)
	step := func(id, pos int32, e float32, thw [3]int32) {
		t.Helper()
		if err := s.Step(ctx, []int32{id}, pos, logits); err != nil {
			t.Fatal(err)
		}
		if want := m.step(e, thw); !slices.Equal(logits, want) {
			t.Fatalf("id %d at %d: logits[:4] = %v, want %v", id, pos, logits[:4], want[:4])
		}
	}
	prefix := []int32{10, 20, 30} // <|im_start|>user\n<|vision_start|> stand-ins
	for i, id := range prefix {
		step(id, int32(i), textE(id), [3]int32{int32(i), int32(i), int32(i)})
	}
	s0 := int32(len(prefix))
	for slot := int32(0); slot < fakeSlots; slot++ {
		// The fake's image embedding: column 0 of the slot's four patches.
		var e float32
		for k := int32(0); k < 4; k++ {
			e += patches[(4*slot+k)*fakePatchDim]
		}
		step(fakeVocab+slot, s0+slot, e, [3]int32{s0, s0 + slot/fakeSide, s0 + slot%fakeSide})
	}
	start, amount := mrope.RopeShift(int(s0), fakeSlots, fakeSide, fakeSide)
	if start != s0+fakeSlots || amount != fakeSlots-fakeSide {
		t.Fatalf("mrope.RopeShift = %d, %d", start, amount)
	}
	if err := s.SetStatic(ctx, Static{RopeShiftStart: start, RopeShiftAmount: amount}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []int32{40, 50, 60} {
		pos := s0 + fakeSlots + int32(i)
		p := pos - amount // get_rope_index: text resumes at s0 + 14
		step(id, pos, textE(id), [3]int32{p, p, p})
	}
	if p := s0 + fakeSlots - amount; p != s0+fakeSide {
		t.Fatalf("text after the image resumes at %d, want %d", p, s0+fakeSide)
	}

	// What encode_image wrote is in the static inputs: slot rows are the
	// first 8 columns of the slot's patches (fake's rule), SetStatic(nil)
	// kept them.
	st, err := s.Static(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.RopeShiftStart != start || st.RopeShiftAmount != amount {
		t.Fatalf("rope shift read back %d, %d, want %d, %d", st.RopeShiftStart, st.RopeShiftAmount, start, amount)
	}
	for slot := 0; slot < fakeSlots; slot++ {
		row := patches[4*slot*fakePatchDim:][:fakeHidden]
		if got := st.ImageEmbeds[slot*fakeHidden:][:fakeHidden]; !slices.Equal(got, row) {
			t.Fatalf("image_embeds row %d = %v, want %v", slot, got, row)
		}
		for k := 0; k < fakeDeepstack; k++ {
			row := patches[(4*slot+1+k)*fakePatchDim:][:fakeHidden]
			if got := st.DeepstackEmbeds[(k*fakeSlots+slot)*fakeHidden:][:fakeHidden]; !slices.Equal(got, row) {
				t.Fatalf("deepstack %d row %d = %v, want %v", k, slot, got, row)
			}
		}
	}
}

func TestStaticRoundTrip(t *testing.T) {
	f := newFake(t)
	s := f.open(true)
	ctx := context.Background()

	// Fresh: text-only static inputs.
	st, err := s.Static(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkTextOnly(t, st)

	in := Static{
		ImageEmbeds:     make([]float32, fakeSlots*fakeHidden),
		DeepstackEmbeds: make([]float32, fakeDeepstack*fakeSlots*fakeHidden),
		RopeShiftStart:  5 + fakeSlots, RopeShiftAmount: fakeSlots - fakeSide,
	}
	for i := range in.ImageEmbeds {
		in.ImageEmbeds[i] = float32(i%2048)/64 - 16 // float16-exact
	}
	for i := range in.DeepstackEmbeds {
		in.DeepstackEmbeds[i] = -float32(i%1024) / 1024
	}
	if err := s.SetStatic(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, err := s.Static(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.ImageEmbeds, in.ImageEmbeds) || !slices.Equal(out.DeepstackEmbeds, in.DeepstackEmbeds) ||
		out.RopeShiftStart != in.RopeShiftStart || out.RopeShiftAmount != in.RopeShiftAmount {
		t.Fatalf("static inputs did not round-trip: shift %d, %d", out.RopeShiftStart, out.RopeShiftAmount)
	}

	// Rounding to float16 is the graph's dtype: 1/3 comes back as float16(1/3).
	in.ImageEmbeds[0] = 1.0 / 3
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatic(ctx, in); err != nil {
		t.Fatal(err)
	}
	if out, err = s.Static(ctx); err != nil {
		t.Fatal(err)
	}
	if got := out.ImageEmbeds[0]; got != 0.333251953125 {
		t.Fatalf("image_embeds[0] = %v, want float16(1/3) = 0.333251953125", got)
	}

	// Reset restores text-only static inputs.
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err = s.Static(ctx); err != nil {
		t.Fatal(err)
	}
	checkTextOnly(t, st)
}

func checkTextOnly(t *testing.T, st Static) {
	t.Helper()
	if st.RopeShiftStart != mrope.TextOnlyShiftStart || st.RopeShiftAmount != 0 {
		t.Fatalf("rope shift %d, %d, want text-only %d, 0", st.RopeShiftStart, st.RopeShiftAmount, mrope.TextOnlyShiftStart)
	}
	if len(st.ImageEmbeds) != fakeSlots*fakeHidden || len(st.DeepstackEmbeds) != fakeDeepstack*fakeSlots*fakeHidden {
		t.Fatalf("static sizes %d, %d", len(st.ImageEmbeds), len(st.DeepstackEmbeds))
	}
	for _, x := range append(slices.Clone(st.ImageEmbeds), st.DeepstackEmbeds...) {
		if x != 0 {
			t.Fatalf("text-only embeddings hold %v, want zeros", x)
		}
	}
}
