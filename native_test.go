package vlmrt_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/vision"
)

// TestNativeGolden: the oracle's native-resolution case through the public
// API: image1.png (640×480) under the checkpoint's own budget keeps its
// size (30×40 patches, 300 tokens) and the greedy reply is the oracle's.
func TestNativeGolden(t *testing.T) {
	var cases struct {
		Cases map[string]struct {
			IDs []int32 `json:"ids"`
			Q8  struct {
				Greedy []int32 `json:"greedy"`
			} `json:"q8"`
		} `json:"cases"`
	}
	b, err := os.ReadFile("testdata/tiny-a/golden/more/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	dyn := cases.Cases["dynamic"]
	c := model(t).NewChat(vlmrt.WithResize(vlmrt.ResizeNative), vlmrt.WithImageBudget(vlmrt.ImageBudget{MaxPixels: 16_777_216}),
		vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: len(dyn.Q8.Greedy)}))
	got, _ := collect(t, c, imageMsg)
	if prompt := c.Tokens()[:len(c.Tokens())-len(got)]; !slices.Equal(prompt, dyn.IDs) {
		t.Fatalf("prompt ids (%d) differ from the oracle's (%d)", len(prompt), len(dyn.IDs))
	}
	if !slices.Equal(got, dyn.Q8.Greedy) {
		t.Fatalf("native reply %v, oracle %v", got, dyn.Q8.Greedy)
	}
}

// TestNativeImagesOfDifferentSizes: two images of different shapes in one
// message and a third in a later turn, each with its own grid (12×16,
// 18×10 and 8×8 tokens under the default budget); the second turn prefills
// only its new tokens and continues exactly as a single-shot run of the
// whole conversation with the same three images.
func TestNativeImagesOfDifferentSizes(t *testing.T) {
	m := model(t)
	const maxTokens = 8
	c := m.NewChat(vlmrt.WithResize(vlmrt.ResizeNative), vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: maxTokens}))
	paths := []string{"testdata/tiny-a/golden/image1.png", "testdata/tiny-a/golden/image2.png", "testdata/images/d05_tiny_1x1.png"}
	collect(t, c, vlmrt.User(vlmrt.ImageFile(paths[0]), vlmrt.Text("and"), vlmrt.ImageFile(paths[1]), vlmrt.Text("Compare them.")))
	afterTurn1 := len(c.Tokens())
	turn2, _ := collect(t, c, vlmrt.User(vlmrt.ImageFile(paths[2]), vlmrt.Text("And this one?")))
	if st := c.Stats(); st.PrefillTokens >= afterTurn1 {
		t.Fatalf("turn 2 prefilled %d tokens, the conversation before it had %d", st.PrefillTokens, afterTurn1)
	}
	all := c.Tokens()
	pad := int32(151655)
	var runs []int
	for i := 0; i < len(all); i++ {
		if all[i] == pad && (i == 0 || all[i-1] != pad) {
			runs = append(runs, 0)
		}
		if all[i] == pad {
			runs[len(runs)-1]++
		}
	}
	// 640×480 → 512×384 (16×12 tokens); 360×600: round → 608×352 > 200704, beta = 1.0374:
	// floor(18.07)·32 = 576 high, floor(10.84)·32 = 320 wide → 18×10 = 180 tokens; 1×1 → 256×256 (8×8).
	if want := []int{192, 180, 64}; !slices.Equal(runs, want) {
		t.Fatalf("image pad runs %v, want %v", runs, want)
	}
	e := vlmrt.EngineOf(m)
	var images []*engine.Image
	for _, p := range paths {
		pre, err := vision.PreprocessFile(context.Background(), p, vision.PreprocessOptions{Resize: vision.ResizeNative, Grid: e.Grid})
		if err != nil {
			t.Fatal(err)
		}
		im, err := e.EncodeGrid(context.Background(), pre.Patches, pre.Patch.Rows, pre.Patch.Cols)
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, im)
	}
	var one []int32
	if _, err := e.NewSession().Generate(context.Background(), engine.Input{IDs: all[:len(all)-len(turn2)], Images: images},
		engine.Options{MaxTokens: maxTokens}, func(tok engine.Token) bool { one = append(one, tok.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one, turn2) {
		t.Fatalf("two-turn reply %v differs from the single-shot %v", turn2, one)
	}
}

// TestImageLimit: WithImageLimit refuses the turn that would pass either
// limit before any encoding, leaves the conversation unchanged, and Reset
// clears the count. `make test-vulkan` runs it again on the GPU engine
// (VLMRT_BACKEND=vulkan), where images are encoded on the device.
func TestImageLimit(t *testing.T) {
	t.Logf("backend %s", model(t).Info().Backend)
	img := vlmrt.ImageFile("testdata/tiny-a/golden/image1.png")
	gen := vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 1})
	c := model(t).NewChat(gen, vlmrt.WithImageLimit(2, 0))
	collect(t, c, vlmrt.User(img, vlmrt.Text("one")))
	before := c.Tokens()
	for _, err := range c.Send(context.Background(), vlmrt.User(img, img, vlmrt.Text("two more"))) {
		if !errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), "the limit is 2") {
			t.Fatalf("third image: %v", err)
		}
	}
	if !slices.Equal(c.Tokens(), before) {
		t.Fatal("the refused turn changed the conversation")
	}
	collect(t, c, vlmrt.User(img, vlmrt.Text("second")))
	c.Reset()
	collect(t, c, vlmrt.User(img, img, vlmrt.Text("after reset")))
	// 196 tokens per fixed-grid image: a budget of 300 takes one
	c2 := model(t).NewChat(gen, vlmrt.WithImageLimit(0, 300))
	collect(t, c2, vlmrt.User(img, vlmrt.Text("one")))
	for _, err := range c2.Send(context.Background(), vlmrt.User(img, vlmrt.Text("two"))) {
		if !errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), "image tokens") {
			t.Fatalf("second image over the token limit: %v", err)
		}
	}
}
