package vision

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/safetensors"
)

const (
	tinyADir        = "../testdata/tiny-a"
	tinyAVisionGold = tinyADir + "/golden/vision.safetensors"
	tinyAMoreGold   = tinyADir + "/golden/more/patches.safetensors"
)

// Tolerances for the oracle ladder. The oracle computes in float64 from the
// exact bf16 weights; we compute in float32 with float32 accumulation over
// at most 1536 terms (patch embed) and 784 (attention), so each stage
// carries a relative error of order √k·2⁻²⁴ ≈ 1e-6, compounding mildly over
// the blocks. minCosine is the bar. The max-abs bar is relative to
// the stage's own magnitude (max |golden|): 1e-5 of it is ~6× above the
// float32 error measured (≤ 1.7e-6 relative with the scalar reference
// kernels, ≤ 3.4e-7 with the blocked ones; see the t.Logf lines) and >20× below the subtlest
// real mistake, a swapped GELU variant (≥ 2.2e-4 relative; its cosine is
// 0.99999998, so the cosine bar alone would pass it: see
// TestLadderCatchesGELUSwaps).
// The position tables are computed in float64 and rounded once, like the
// oracle's, so they must agree to within one float32 rounding.
const (
	minCosine       = 0.99999
	maxRelAbsDiff   = 1e-5
	tableRelAbsDiff = 1.2e-7 // 2⁻²³: one float32 ulp at the table's scale
)

var (
	tinyEncOnce sync.Once
	tinyEnc     *Encoder
	tinyEncErr  error
)

// tinyAEncoder loads the tiny-a tower once for all tests of the package.
func tinyAEncoder(t testing.TB) *Encoder {
	t.Helper()
	tinyEncOnce.Do(func() {
		ck, err := bundle.OpenCheckpoint(tinyADir)
		if err != nil {
			tinyEncErr = err
			return
		}
		// The checkpoint stays open: the Encoder copies what it needs, and
		// the process ends with the tests.
		tinyEnc, tinyEncErr = LoadEncoder(context.Background(), ck.Tensors, ck.Config)
	})
	if tinyEncErr != nil {
		t.Fatal(tinyEncErr)
	}
	return tinyEnc
}

// goldenF32 reads one float tensor of a golden file with its shape.
func goldenF32(t testing.TB, f *safetensors.File, name string) ([]float32, []int) {
	t.Helper()
	tn, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tn.Float32s()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v, tn.Shape
}

func openGolden(t testing.TB, path string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// compareStage checks got against the oracle's want: same length, cosine ≥
// minCosine, max |got−want| ≤ maxRelAbsDiff·max|want|. It logs both.
func compareStage(t *testing.T, stage string, got, want []float32) {
	t.Helper()
	compareStageTol(t, stage, got, want, maxRelAbsDiff)
}

// ladderDiff returns the cosine similarity and the max |got−want| relative to
// max|want|.
func ladderDiff(got, want []float32) (cos, relMaxDiff float64) {
	var dot, gg, ww, maxDiff, scale float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		dot += g * w
		gg += g * g
		ww += w * w
		maxDiff = max(maxDiff, math.Abs(g-w))
		scale = max(scale, math.Abs(w))
	}
	return dot / math.Sqrt(gg*ww), maxDiff / scale
}

func compareStageTol(t *testing.T, stage string, got, want []float32, relTol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, golden has %d", stage, len(got), len(want))
		return
	}
	var dot, gg, ww, maxDiff, scale float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		dot += g * w
		gg += g * g
		ww += w * w
		maxDiff = max(maxDiff, math.Abs(g-w))
		scale = max(scale, math.Abs(w))
	}
	cos := dot / math.Sqrt(gg*ww)
	t.Logf("%-18s cosine %.9f (1-cos %.1e)  max|diff| %.3g  (max|golden| %.3g, rel %.2g)", stage, cos, 1-cos, maxDiff, scale, maxDiff/scale)
	if !(cos >= minCosine) {
		t.Errorf("%s: cosine %.9f < %v", stage, cos, minCosine)
	}
	if !(maxDiff <= relTol*scale) {
		t.Errorf("%s: max |diff| %.3g > %.1e × max|golden| %.3g", stage, maxDiff, relTol, scale)
	}
}

// TestEncoderLadder climbs the oracle's vision ladder for both golden images:
// every traced intermediate and both outputs.
func TestEncoderLadder(t *testing.T) {
	enc := tinyAEncoder(t)
	gold := openGolden(t, tinyAVisionGold)
	for _, img := range []string{"image1", "image2"} {
		t.Run(img, func(t *testing.T) {
			patches, shape := goldenF32(t, gold, img+".patches")
			if len(shape) != 2 || shape[0] != 784 || shape[1] != enc.Config().PatchDim() {
				t.Fatalf("golden patches shape %v", shape)
			}
			traced := map[string][]float32{}
			out, err := enc.EncodeTrace(context.Background(), patches, 28, 28, func(stage string, data []float32, rows, cols int) {
				if len(data) != rows*cols {
					t.Errorf("trace %s: %d values for [%d, %d]", stage, len(data), rows, cols)
				}
				traced[stage] = append([]float32(nil), data...)
			})
			if err != nil {
				t.Fatal(err)
			}
			stages := []string{"pos_embed", "rot_cos", "rot_sin", "patch_embed_out"}
			for i := 0; i < enc.Config().Depth; i++ {
				stages = append(stages, "block_out."+strconv.Itoa(i))
			}
			for _, st := range stages {
				got, ok := traced[st]
				if !ok {
					t.Errorf("stage %s was not traced", st)
					continue
				}
				want, _ := goldenF32(t, gold, img+"."+st)
				tol := maxRelAbsDiff
				if st == "pos_embed" || st == "rot_cos" || st == "rot_sin" {
					tol = tableRelAbsDiff
				}
				compareStageTol(t, st, got, want, tol)
			}
			if out.Tokens != 196 {
				t.Errorf("Tokens = %d, want 196", out.Tokens)
			}
			want, _ := goldenF32(t, gold, img+".image_embeds")
			compareStage(t, "image_embeds", out.ImageEmbeds, want)
			want, _ = goldenF32(t, gold, img+".deepstack_embeds")
			compareStage(t, "deepstack_embeds", out.DeepstackEmbeds, want)
			// Per DeepStack level too, so a swapped order cannot hide in the total.
			per := out.Tokens * 64
			for k := 0; k*per < len(want); k++ {
				compareStage(t, "deepstack["+strconv.Itoa(k)+"]", out.DeepstackEmbeds[k*per:(k+1)*per], want[k*per:(k+1)*per])
			}
		})
	}
}

// TestEncoderDynamicGrid runs the oracle's native-resolution case: a 30×40
// patch grid (no golden embeddings exist for it; the decoder tests use it).
func TestEncoderDynamicGrid(t *testing.T) {
	enc := tinyAEncoder(t)
	patches, shape := goldenF32(t, openGolden(t, tinyAMoreGold), "dynamic.patches")
	if len(shape) != 2 || shape[0] != 1200 {
		t.Fatalf("dynamic.patches shape %v", shape)
	}
	out, err := enc.Encode(context.Background(), patches, 30, 40)
	if err != nil {
		t.Fatal(err)
	}
	hidden := 64
	if out.Tokens != 300 || len(out.ImageEmbeds) != 300*hidden || len(out.DeepstackEmbeds) != 3*300*hidden {
		t.Fatalf("dynamic: tokens %d, image_embeds %d, deepstack %d values", out.Tokens, len(out.ImageEmbeds), len(out.DeepstackEmbeds))
	}
	if !allFinite(out.ImageEmbeds) || !allFinite(out.DeepstackEmbeds) {
		t.Fatal("dynamic: non-finite output")
	}
	// The same image at 30×40 and 40×30 differ (the grid shape reaches the
	// position tables), and a second call reproduces the first bit for bit
	// (the cached tables and pooled scratch carry no state between calls).
	again, err := enc.Encode(context.Background(), patches, 30, 40)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.ImageEmbeds, again.ImageEmbeds) || !slices.Equal(out.DeepstackEmbeds, again.DeepstackEmbeds) {
		t.Error("a repeated dynamic encode gave different numbers")
	}
	swapped, err := enc.Encode(context.Background(), patches, 40, 30)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(out.ImageEmbeds, swapped.ImageEmbeds) {
		t.Error("30×40 and 40×30 grids gave identical embeddings: the grid shape is ignored")
	}
}

// TestEncoderConcurrent encodes the two golden images from several
// goroutines at once (run with -race): results equal the sequential ones.
func TestEncoderConcurrent(t *testing.T) {
	enc := tinyAEncoder(t)
	gold := openGolden(t, tinyAVisionGold)
	var inputs [2][]float32
	var want [2]*Output
	for i, img := range []string{"image1", "image2"} {
		inputs[i], _ = goldenF32(t, gold, img+".patches")
		var err error
		if want[i], err = enc.Encode(context.Background(), inputs[i], 28, 28); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := enc.Encode(context.Background(), inputs[i], 28, 28)
			if err != nil {
				errs <- err.Error()
				return
			}
			if !slices.Equal(out.ImageEmbeds, want[i].ImageEmbeds) || !slices.Equal(out.DeepstackEmbeds, want[i].DeepstackEmbeds) {
				errs <- "concurrent encode of image " + strconv.Itoa(i+1) + " differs from the sequential one"
			}
		}(g % 2)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestEncoderRejectsBadInput(t *testing.T) {
	enc := tinyAEncoder(t)
	dim := enc.Config().PatchDim()
	ok := make([]float32, 28*28*dim)
	for _, c := range []struct {
		name         string
		patches      []float32
		gridH, gridW int
		want         string
	}{
		{"short buffer", ok[:len(ok)-1], 28, 28, "patches hold 1204223 values, want 28×28 patches × 1536"},
		{"odd grid", make([]float32, 27*28*dim), 27, 28, "not a multiple of the spatial merge size 2"},
		{"zero grid", nil, 0, 28, "must be positive"},
		{"huge grid", nil, 512, 512, "exceeds the 65536-patch limit"},
	} {
		_, err := enc.Encode(context.Background(), c.patches, c.gridH, c.gridW)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enc.Encode(ctx, ok, 28, 28); err != context.Canceled {
		t.Errorf("cancelled context: error %v, want context.Canceled", err)
	}
}

func BenchmarkEncode(b *testing.B) {
	enc := tinyAEncoder(b)
	f, err := safetensors.Open(tinyAVisionGold)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	patches, _ := goldenF32(b, f, "image1.patches")
	ctx := context.Background()
	if _, err := enc.Encode(ctx, patches, 28, 28); err != nil { // warm the grid cache and scratch pool
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := enc.Encode(ctx, patches, 28, 28); err != nil {
			b.Fatal(err)
		}
	}
}

func allFinite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}
