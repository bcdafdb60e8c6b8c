package gpu_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

// The vision tower on the device against the oracle's vision ladder and the
// CPU tower, with the CPU vision tests' tolerances (vision/encoder_test.go):
// cosine ≥ minCosine and max |got−want| ≤ 1e-5 of the stage's max |golden|
// (float32 error is ~1e-6 relative; the subtlest real mistake, a swapped
// GELU variant, is ≥ 2.2e-4).
const visionRelTol = 1e-5

// visionModel uploads tiny-a's decoder at precision p and its vision tower,
// and returns the host encoder too (for comparisons).
func visionModel(t testing.TB, p weights.Precision) (*gpu.Model, *vision.Encoder) {
	t.Helper()
	d := device(t)
	ck, err := bundle.OpenCheckpoint(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	ctx := context.Background()
	dm, err := decoder.Load(ctx, ck.Tensors, ck.Config, p)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := vision.LoadEncoder(ctx, ck.Tensors, ck.Config)
	if err != nil {
		t.Fatal(err)
	}
	m, err := gpu.Upload(ctx, d, dm.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if err := m.UploadVision(ctx, enc.Params()); err != nil {
		t.Fatal(err)
	}
	return m, enc
}

// visionStage checks got against want like the CPU ladder's compareStage.
func visionStage(t *testing.T, stage string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", stage, len(got), len(want))
		return
	}
	var dot, gg, ww, maxDiff, scale float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		dot, gg, ww = dot+g*w, gg+g*g, ww+w*w
		maxDiff = max(maxDiff, math.Abs(g-w))
		scale = max(scale, math.Abs(w))
	}
	cos := dot / math.Sqrt(gg*ww)
	t.Logf("%-18s cosine %.9f (1-cos %.1e)  max|diff| %.3g  (max|want| %.3g, rel %.2g)", stage, cos, 1-cos, maxDiff, scale, maxDiff/scale)
	if !(cos >= minCosine) {
		t.Errorf("%s: cosine %.9f < %v", stage, cos, minCosine)
	}
	if !(maxDiff <= visionRelTol*scale) {
		t.Errorf("%s: max |diff| %.3g > %.0e × max|want| %.3g", stage, maxDiff, visionRelTol, scale)
	}
}

// imageOutput reads a device image back in the CPU tower's layout.
func imageOutput(t testing.TB, img *gpu.Image, hidden, deepstack int) *vision.Output {
	t.Helper()
	rows, err := img.Rows()
	if err != nil {
		t.Fatal(err)
	}
	n, stride := img.Tokens(), (1+deepstack)*hidden
	if len(rows) < n*stride {
		t.Fatalf("image buffer holds %d floats, want %d", len(rows), n*stride)
	}
	out := &vision.Output{Tokens: n, ImageEmbeds: make([]float32, n*hidden), DeepstackEmbeds: make([]float32, deepstack*n*hidden)}
	for i := 0; i < n; i++ {
		copy(out.ImageEmbeds[i*hidden:(i+1)*hidden], rows[i*stride:])
		for k := 0; k < deepstack; k++ {
			copy(out.DeepstackEmbeds[(k*n+i)*hidden:(k*n+i+1)*hidden], rows[i*stride+(1+k)*hidden:])
		}
	}
	return out
}

func compareOutputs(t *testing.T, got, want *vision.Output, hidden int) {
	t.Helper()
	if got.Tokens != want.Tokens {
		t.Fatalf("tokens %d, want %d", got.Tokens, want.Tokens)
	}
	visionStage(t, "image_embeds", got.ImageEmbeds, want.ImageEmbeds)
	visionStage(t, "deepstack_embeds", got.DeepstackEmbeds, want.DeepstackEmbeds)
	// Per DeepStack level too, so a swapped order cannot hide in the total.
	per := got.Tokens * hidden
	for k := 0; k*per < len(want.DeepstackEmbeds); k++ {
		visionStage(t, "deepstack["+strconv.Itoa(k)+"]", got.DeepstackEmbeds[k*per:(k+1)*per], want.DeepstackEmbeds[k*per:(k+1)*per])
	}
}

func TestVisionLadder(t *testing.T) {
	m, enc := visionModel(t, weights.F32)
	cfg := enc.Config()
	for _, name := range []string{"image1", "image2"} {
		t.Run(name, func(t *testing.T) {
			patches := tensor(t, "vision.safetensors", name+".patches")
			traced := map[string][]float32{}
			img, err := m.EncodeImageTrace(context.Background(), patches, 28, 28, func(stage string, data []float32, rows, cols int) {
				if len(data) != rows*cols {
					t.Errorf("trace %s: %d values for [%d, %d]", stage, len(data), rows, cols)
				}
				traced[stage] = append([]float32(nil), data...)
			})
			if err != nil {
				t.Fatal(err)
			}
			defer img.Release()
			stages := []string{"patch_embed_out"}
			for i := 0; i < cfg.Depth; i++ {
				stages = append(stages, "block_out."+strconv.Itoa(i))
			}
			for _, st := range stages {
				got, ok := traced[st]
				if !ok {
					t.Errorf("stage %s was not traced", st)
					continue
				}
				visionStage(t, st, got, tensor(t, "vision.safetensors", name+"."+st))
			}
			if img.Tokens() != 196 {
				t.Fatalf("tokens %d, want 196", img.Tokens())
			}
			out := imageOutput(t, img, cfg.OutHiddenSize, len(cfg.DeepstackIndexes))
			compareOutputs(t, out, &vision.Output{
				Tokens:          196,
				ImageEmbeds:     tensor(t, "vision.safetensors", name+".image_embeds"),
				DeepstackEmbeds: tensor(t, "vision.safetensors", name+".deepstack_embeds"),
			}, cfg.OutHiddenSize)
		})
	}
}

// TestVisionNativeResolution encodes rectangular grids (the position table
// interpolated and the rotary angles taken per grid) and compares with the
// CPU tower on the same patches: the oracle's 30×40 image and random 16×24
// patches, the latter also in ragged chunks of 37 rows (the path images
// above 4096 patches take) and with the kernel variants meant for GPUs.
func TestVisionNativeResolution(t *testing.T) {
	m, enc := visionModel(t, weights.F32)
	cfg := enc.Config()
	f, err := safetensors.Open(goldenDir + "more/patches.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tn, err := f.Tensor("dynamic.patches")
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := tn.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	random := randVec(rand.New(rand.NewPCG(3, 4)), 16*24*cfg.PatchDim(), 1)
	for _, c := range []struct {
		name         string
		gridH, gridW int
		patches      []float32
		chunk        int
		gpuStyle     bool
	}{
		{"dynamic 30x40", 30, 40, dynamic, 0, false},
		{"random 16x24", 16, 24, random, 0, false},
		{"random 16x24 chunked", 16, 24, random, 37, false},
		{"random 16x24 gpu-style", 16, 24, random, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			m.SetVisionChunk(c.chunk)
			m.SetGPUStyle(c.gpuStyle)
			defer m.SetVisionChunk(0)
			defer m.SetGPUStyle(false)
			want, err := enc.Encode(ctx, c.patches, c.gridH, c.gridW)
			if err != nil {
				t.Fatal(err)
			}
			img, err := m.EncodeImage(ctx, c.patches, c.gridH, c.gridW)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Release()
			compareOutputs(t, imageOutput(t, img, cfg.OutHiddenSize, len(cfg.DeepstackIndexes)), want, cfg.OutHiddenSize)
		})
	}
}

// TestVisionGreedy: an image encoded on the device, added to a sequence,
// gives the oracle's greedy tokens for the image prompt in both precisions.
func TestVisionGreedy(t *testing.T) {
	var inputs struct {
		Prompts map[string]goldenPrompt `json:"prompts"`
	}
	readJSON(t, "inputs.json", &inputs)
	prompt := inputs.Prompts["image"]
	if prompt.Image == nil {
		t.Fatal("the image prompt has no image")
	}
	ctx := context.Background()
	const V = 151936
	for _, p := range []weights.Precision{weights.F32, weights.Int8} {
		mode := map[weights.Precision]string{weights.F32: "fp", weights.Int8: "q8"}[p]
		t.Run(mode, func(t *testing.T) {
			m, _ := visionModel(t, p)
			var gold struct {
				Prompts map[string]goldenDecoder `json:"prompts"`
			}
			readJSON(t, "decoder_"+mode+".json", &gold)
			g := gold.Prompts["image"]
			img, err := m.EncodeImage(ctx, tensor(t, "vision.safetensors", *prompt.Image+".patches"), 28, 28)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Release()
			s, err := m.NewSequence()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.AddImage(ctx, img); err != nil {
				t.Fatal(err)
			}
			// The prompt, with logits for the rows the oracle stored (its
			// last ones): the head runs on those only.
			n := len(prompt.ExtIDs)
			first := g.FullLogitsPositions[0]
			if err := s.Forward(ctx, prompt.ExtIDs[:first], prompt.PositionsTHW[:first], engine.NoLogits, nil); err != nil {
				t.Fatal(err)
			}
			logits := make([]float32, n*V) // row i: the prediction after token i
			if err := s.Forward(ctx, prompt.ExtIDs[first:], prompt.PositionsTHW[first:], engine.AllLogits, logits[first*V:]); err != nil {
				t.Fatal(err)
			}
			want := tensor(t, "decoder_"+mode+".safetensors", "image.logits_last")
			le := errStats{minCos: 1}
			for r, pos := range g.FullLogitsPositions {
				le.add(logits[pos*V:(pos+1)*V], want[r*V:(r+1)*V])
			}
			t.Logf("%s logits rows %v: cosine %.8f max abs %.3g", mode, g.FullLogitsPositions, le.minCos, le.maxAbs)
			if le.maxAbs > logitTol {
				t.Errorf("logits max abs %.3g > %g", le.maxAbs, logitTol)
			}
			greedyCompare(t, s, prompt, g, logits[(n-1)*V:], le.maxAbs, mode+" with the device-encoded image")
		})
	}
}

// TestVisionErrors: bad input and misused handles are errors, not panics.
func TestVisionErrors(t *testing.T) {
	ctx := context.Background()
	m, enc := visionModel(t, weights.Int8)
	pd := enc.Config().PatchDim()
	patches := make([]float32, 28*28*pd)
	if _, err := m.EncodeImage(ctx, patches[:len(patches)-1], 28, 28); err == nil {
		t.Error("wrong patch count: no error")
	}
	if _, err := m.EncodeImage(ctx, make([]float32, 27*28*pd), 27, 28); err == nil {
		t.Error("grid not a multiple of the merge size: no error")
	}
	if _, err := m.EncodeImage(ctx, nil, 0, 0); err == nil {
		t.Error("empty grid: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.EncodeImage(cancelled, patches, 28, 28); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
	text := deviceModel(t, weights.Int8)
	if _, err := text.EncodeImage(ctx, patches, 28, 28); !errors.Is(err, engine.ErrUnsupportedInput) {
		t.Errorf("model without a vision tower: error %v", err)
	}

	img, err := m.EncodeImage(ctx, patches, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Release()
	// An image of another model.
	other, err := text.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.AddImage(ctx, img); !errors.Is(err, engine.ErrUnsupportedInput) {
		t.Errorf("image from another model: error %v", err)
	}
	// A released image.
	s, err := m.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img.Release()
	img.Release() // idempotent
	if _, err := s.AddImage(ctx, img); !errors.Is(err, engine.ErrUnsupportedInput) {
		t.Errorf("released image: error %v", err)
	}
}
