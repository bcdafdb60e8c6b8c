package engine

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

const tinyA = "../../testdata/tiny-a"

// engines are loaded once per precision and shared by the tests, as an
// application shares one model between conversations.
var (
	engineOnce [2]sync.Once
	engines    [2]*Engine
	engineErr  [2]error
)

func tinyEngine(t testing.TB, p weights.Precision) *Engine {
	t.Helper()
	engineOnce[p].Do(func() {
		ck, err := bundle.OpenCheckpoint(tinyA)
		if err != nil {
			engineErr[p] = err
			return
		}
		engines[p], engineErr[p] = NewEngine(context.Background(), ck.Tensors, ck.Config, nil, LoadOptions{Precision: p, ContextLength: 4096})
		if engines[p] != nil {
			engines[p].EOS = []int32{151645, 151643}
		}
	})
	if engineErr[p] != nil {
		t.Fatal(engineErr[p])
	}
	return engines[p]
}

type goldenInputs struct {
	Prompts map[string]struct {
		IDs []int32 `json:"ids"`
	} `json:"prompts"`
}

type goldenDecoder struct {
	Prompts map[string]struct {
		Greedy struct {
			Tokens     []int32   `json:"tokens"`
			Top2Margin []float64 `json:"top2_margin"`
		} `json:"greedy"`
	} `json:"prompts"`
}

type goldenMore struct {
	Cases map[string]struct {
		IDs     []int32 `json:"ids"`
		GridTHW []int   `json:"grid_thw"`
		FP      goldenCase
		Q8      goldenCase
	} `json:"cases"`
}

type goldenCase struct {
	IDs     []int32   `json:"ids"`
	Greedy  []int32   `json:"greedy"`
	Margins []float64 `json:"margins"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

var modes = []struct {
	name string
	p    weights.Precision
	file string
}{{"fp", weights.F32, "decoder_fp.json"}, {"q8", weights.Int8, "decoder_q8.json"}}

// imageFromFile runs the whole image path: PNG → patches → vision encoder.
func imageFromFile(t testing.TB, e *Engine, path string) *Image {
	t.Helper()
	pre, err := vision.PreprocessFile(context.Background(), path, vision.PreprocessOptions{Grid: e.Grid})
	if err != nil {
		t.Fatal(err)
	}
	im, err := e.EncodePatches(context.Background(), pre.Patches)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// generate runs one turn greedily and collects the token ids.
func generate(t testing.TB, s *Session, in Input, opt Options) ([]int32, Stats) {
	t.Helper()
	var got []int32
	st, err := s.Generate(context.Background(), in, opt, func(tok Token) bool {
		got = append(got, tok.ID)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

// compareGreedy requires our tokens to equal the oracle's up to the first
// step whose oracle top-2 margin is below minMargin (where float32 rounding
// may legitimately flip the choice), and at least up to step 8.
func compareGreedy(t *testing.T, got, want []int32, margins []float64, minMargin float64) {
	t.Helper()
	n := len(want)
	for i, m := range margins {
		if m < minMargin {
			n = i // from this step on, float32 rounding may flip the oracle's choice
			break
		}
	}
	if n < 8 {
		t.Fatalf("golden margins too small to compare (%d steps)", n)
	}
	if len(got) < n || !slices.Equal(got[:n], want[:n]) {
		t.Fatalf("greedy tokens differ within the first %d steps:\n got  %v\n want %v", n, got, want)
	}
	t.Logf("greedy: %d/%d oracle tokens compared and equal (full equal: %v)", n, len(want), slices.Equal(got, want))
}

// TestPipelineGreedy: PNG → preprocessing → vision → decoder → greedy tokens
// equal the oracle's for the image, text and multi-turn prompts.
func TestPipelineGreedy(t *testing.T) {
	var in goldenInputs
	readJSON(t, tinyA+"/golden/inputs.json", &in)
	for _, mode := range modes {
		var gd goldenDecoder
		readJSON(t, tinyA+"/golden/"+mode.file, &gd)
		e := tinyEngine(t, mode.p)
		for _, name := range []string{"image", "text", "multiturn"} {
			t.Run(mode.name+"/"+name, func(t *testing.T) {
				input := Input{IDs: in.Prompts[name].IDs}
				switch name {
				case "image":
					input.Images = []*Image{imageFromFile(t, e, tinyA+"/golden/image1.png")}
				case "multiturn":
					input.Images = []*Image{imageFromFile(t, e, tinyA+"/golden/image2.png")}
				}
				for _, s1 := range []bool{false, true} {
					got, st := generate(t, e.NewSession(), input, Options{MaxTokens: 24, S1Prefill: s1})
					g := gd.Prompts[name].Greedy
					compareGreedy(t, got, g.Tokens, g.Top2Margin, 1e-3)
					if st.PrefillTokens != len(input.IDs) || st.GeneratedTokens != 24 || st.FinishReason != "length" {
						t.Fatalf("stats %+v", st)
					}
				}
			})
		}
	}
}

// TestTwoImagesAndTwoTurns matches golden/more: two images in one turn
// (each with its own slots and positions), and a second turn that prefills
// only its new tokens on top of the kept cache.
func TestTwoImagesAndTwoTurns(t *testing.T) {
	var more goldenMore
	readJSON(t, tinyA+"/golden/more/cases.json", &more)
	var in goldenInputs
	readJSON(t, tinyA+"/golden/inputs.json", &in)
	for _, mode := range modes {
		e := tinyEngine(t, mode.p)
		gc := func(c string) goldenCase {
			if mode.p == weights.F32 {
				return more.Cases[c].FP
			}
			return more.Cases[c].Q8
		}
		t.Run(mode.name+"/two_images", func(t *testing.T) {
			input := Input{IDs: more.Cases["two_images"].IDs, Images: []*Image{
				imageFromFile(t, e, tinyA+"/golden/image1.png"), imageFromFile(t, e, tinyA+"/golden/image2.png")}}
			got, _ := generate(t, e.NewSession(), input, Options{MaxTokens: 24})
			compareGreedy(t, got, gc("two_images").Greedy, gc("two_images").Margins, 1e-3)
		})
		t.Run(mode.name+"/two_turns", func(t *testing.T) {
			s := e.NewSession()
			turn1 := in.Prompts["image"].IDs
			reply, _ := generate(t, s, Input{IDs: turn1, Images: []*Image{imageFromFile(t, e, tinyA+"/golden/image1.png")}}, Options{MaxTokens: 24})
			full := gc("two_turns").IDs
			if !slices.Equal(full[len(turn1):len(turn1)+24], reply) {
				t.Fatalf("turn-1 reply differs from the oracle's: %v", reply)
			}
			newIDs := full[len(turn1)+24:]
			got, st := generate(t, s, Input{IDs: newIDs}, Options{MaxTokens: 24})
			// Only the new tokens run in turn two: the pending last reply
			// token plus the new ids.
			if st.PrefillTokens != len(newIDs)+1 {
				t.Fatalf("turn 2 prefilled %d tokens, want %d new ones", st.PrefillTokens, len(newIDs)+1)
			}
			compareGreedy(t, got, gc("two_turns").Greedy, gc("two_turns").Margins, 1e-3)
			// Prefix reuse is exact: the same conversation in one shot.
			one := e.NewSession()
			got1, _ := generate(t, one, Input{IDs: full, Images: []*Image{imageFromFile(t, e, tinyA+"/golden/image1.png")}}, Options{MaxTokens: 24})
			if !slices.Equal(got, got1) {
				t.Fatalf("two-turn and single-shot generations differ:\n%v\n%v", got, got1)
			}
		})
		t.Run(mode.name+"/dynamic", func(t *testing.T) {
			c := more.Cases["dynamic"]
			f, err := safetensors.Open(tinyA + "/golden/more/patches.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pt, _ := f.Tensor("dynamic.patches")
			patches, _ := pt.Float32s()
			im, err := e.EncodeGrid(context.Background(), patches, c.GridTHW[1], c.GridTHW[2])
			if err != nil {
				t.Fatal(err)
			}
			got, _ := generate(t, e.NewSession(), Input{IDs: c.IDs, Images: []*Image{im}}, Options{MaxTokens: 24})
			compareGreedy(t, got, gc("dynamic").Greedy, gc("dynamic").Margins, 1e-3)
		})
	}
}

// TestKVCacheF16: a float16 KV cache keeps the oracle's greedy tokens and
// moves the logits only by float16 rounding of the stored keys and values.
func TestKVCacheF16(t *testing.T) {
	var in goldenInputs
	readJSON(t, tinyA+"/golden/inputs.json", &in)
	var gd goldenDecoder
	readJSON(t, tinyA+"/golden/decoder_q8.json", &gd)
	e := tinyEngine(t, weights.Int8)
	input := Input{IDs: in.Prompts["image"].IDs, Images: []*Image{imageFromFile(t, e, tinyA+"/golden/image1.png")}}
	full := e.NewSession()
	ref, _ := generate(t, full, input, Options{MaxTokens: 24})
	ck, err := bundle.OpenCheckpoint(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	e16, err := NewEngine(context.Background(), ck.Tensors, ck.Config, nil, LoadOptions{Precision: weights.Int8, ContextLength: 4096, KVCacheF16: true})
	if err != nil {
		t.Fatal(err)
	}
	e16.EOS = e.EOS
	half := e16.NewSession()
	got, _ := generate(t, half, input, Options{MaxTokens: 24})
	if !half.seq.(*cpuSequence).c.F16() {
		t.Fatal("session did not get a float16 cache")
	}
	g := gd.Prompts["image"].Greedy
	compareGreedy(t, got, g.Tokens, g.Top2Margin, 1e-2)
	if !slices.Equal(got, ref) {
		t.Fatalf("float16 cache changed the tokens: %v vs %v", got, ref)
	}
	var maxDiff, maxAbs float64
	for i, v := range half.LastLogits() {
		maxDiff = max(maxDiff, math.Abs(float64(v-full.LastLogits()[i])))
		maxAbs = max(maxAbs, math.Abs(float64(full.LastLogits()[i])))
	}
	t.Logf("last-step logits: max |f16 cache − f32 cache| = %.3g (logits up to %.3g)", maxDiff, maxAbs)
	// float16 keeps 11 significant bits (relative rounding ≤ 2⁻¹¹ ≈ 4.9e-4):
	// a change in the logits beyond 1% of their range would mean a bug.
	if maxDiff > 0.01*maxAbs {
		t.Fatalf("float16 cache moved logits by %.3g (range %.3g)", maxDiff, maxAbs)
	}
}

// TestPrefixReuseExact: the logits after a second turn that reused the
// first turn's KV cache equal those of the whole conversation run at once —
// bit for bit with S=1 prefill (each token takes the same path either way),
// within float32 rounding with batched prefill.
func TestPrefixReuseExact(t *testing.T) {
	var more goldenMore
	readJSON(t, tinyA+"/golden/more/cases.json", &more)
	var in goldenInputs
	readJSON(t, tinyA+"/golden/inputs.json", &in)
	e := tinyEngine(t, weights.Int8)
	img := imageFromFile(t, e, tinyA+"/golden/image1.png")
	turn1 := in.Prompts["image"].IDs
	full := more.Cases["two_turns"].Q8.IDs
	for _, s1 := range []bool{true, false} {
		two := e.NewSession()
		generate(t, two, Input{IDs: turn1, Images: []*Image{img}}, Options{MaxTokens: 24, S1Prefill: s1})
		generate(t, two, Input{IDs: full[len(turn1)+24:]}, Options{MaxTokens: 1, S1Prefill: s1})
		one := e.NewSession()
		generate(t, one, Input{IDs: full, Images: []*Image{img}}, Options{MaxTokens: 1, S1Prefill: s1})
		var maxDiff float64
		for i, v := range two.LastLogits() {
			maxDiff = max(maxDiff, math.Abs(float64(v-one.LastLogits()[i])))
		}
		t.Logf("S1=%v: max |two-turn − single-shot| logit = %.3g", s1, maxDiff)
		if s1 && maxDiff != 0 || maxDiff > 1e-4 {
			t.Fatalf("S1=%v: prefix reuse changed the logits by %.3g", s1, maxDiff)
		}
	}
}
