package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// dynamicCase is the oracle's native-resolution case: image1.png (640×480)
// through Hugging Face's smart_resize (factor 32, min 65,536, max
// 16,777,216 pixels) keeps its size, grid_thw (1, 30, 40), 300 tokens.
type dynamicCase struct {
	GridTHW []int   `json:"grid_thw"`
	IDs     []int32 `json:"ids"`
	FP      struct {
		Greedy []int32 `json:"greedy"`
	} `json:"fp"`
	Q8 struct {
		Greedy []int32 `json:"greedy"`
	} `json:"q8"`
}

func loadDynamicCase(t *testing.T) dynamicCase {
	t.Helper()
	var cases struct {
		Cases map[string]dynamicCase `json:"cases"`
	}
	b, err := os.ReadFile(tinyA + "/golden/more/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases.Cases["dynamic"]
}

// TestRunResizeNativeGolden: an image FILE through `--resize native` with
// the checkpoint's own budget gives the oracle's prompt ids (one pad per
// merged patch: 300) and greedy tokens in both precisions, with no patch
// tensor or id list prepared by hand.
func TestRunResizeNativeGolden(t *testing.T) {
	dyn := loadDynamicCase(t)
	for _, c := range []struct {
		precision string
		greedy    []int32
	}{{"f32", dyn.FP.Greedy}, {"int8", dyn.Q8.Greedy}} {
		out, errOut, code := runCLI(t, "", "run", "--model", tinyA, "--image", tinyA+"/golden/image1.png",
			"--prompt", "Describe this image.", "--resize", "native", "--max-pixels", "16777216",
			"--max-tokens", "24", "--precision", c.precision, "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.precision, code, errOut)
		}
		var r runJSON
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("bad JSON %q: %v", out, err)
		}
		if !slices.Equal(r.PromptIDs, dyn.IDs) {
			t.Fatalf("%s: prompt ids (%d) differ from the oracle's (%d)", c.precision, len(r.PromptIDs), len(dyn.IDs))
		}
		if !slices.Equal(r.GeneratedIDs, c.greedy) {
			t.Fatalf("%s: generated %v, oracle %v", c.precision, r.GeneratedIDs, c.greedy)
		}
	}
}

// TestPreprocessNativeGolden: `vlmrt preprocess --resize native` on the
// oracle's native case writes grid_thw (1, 30, 40) and its patches: the
// same pixel in every one of the 1200×1536 places (checked exactly, by
// mapping each value back to its 8-bit level), with values equal to the
// oracle's within 2^-23 (one float32 ulp at 1.0). The ulp is the oracle's, not ours: its
// README says it normalised in float64 and stored float32, while Hugging
// Face's processor (and vlmrt) rescale to float32 first and normalise in
// float32 — the testdata/images references, which are HF's, match vlmrt
// bit for bit (vision/preprocess_ref_test.go).
func TestPreprocessNativeGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p.safetensors")
	_, errOut, code := runCLI(t, "", "preprocess", "--image", tinyA+"/golden/image1.png", "--resize", "native",
		"--max-pixels", "16777216", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	ref, err := safetensors.Open(tinyA + "/golden/more/patches.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	gp, err := got.Tensor("patches")
	if err != nil {
		t.Fatal(err)
	}
	rp, _ := ref.Tensor("dynamic.patches")
	if !slices.Equal(gp.Shape, rp.Shape) {
		t.Fatalf("patches %v, reference %v", gp.Shape, rp.Shape)
	}
	a, _ := gp.Float32s()
	b, _ := rp.Float32s()
	level := func(x float32) int { return int(math.Round((float64(x)*0.5 + 0.5) * 255)) }
	maxAbs := 0.0
	for i := range a {
		if level(a[i]) != level(b[i]) {
			t.Fatalf("patch value %d is pixel level %d, the reference's %d", i, level(a[i]), level(b[i]))
		}
		maxAbs = max(maxAbs, math.Abs(float64(a[i])-float64(b[i])))
	}
	// One float32 ulp at 1.0 is 2^-23: the two normalisations round the
	// same real number differently, never by more.
	t.Logf("1200×1536 patch values: every pixel level equal; max abs difference %.3g", maxAbs)
	if maxAbs > 0x1p-23 {
		t.Fatalf("patch values differ by %.3g, more than the normalisation's rounding", maxAbs)
	}
	gt, err := got.Tensor("grid_thw")
	if err != nil {
		t.Fatal(err)
	}
	dyn := loadDynamicCase(t)
	for i, want := range dyn.GridTHW {
		if v := int(binary.LittleEndian.Uint64(gt.Data[8*i:])); v != want {
			t.Fatalf("grid_thw[%d] = %d, want %d", i, v, want)
		}
	}
}

// TestResizeNativeBudgets: the default budget brings the 640×480 image to
// 512×384 (192 tokens); a token budget says the same; a tiny image is
// brought up to the minimum; bad budgets and extreme aspect ratios are clear
// errors.
func TestResizeNativeBudgets(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.safetensors")
	for _, c := range []struct {
		args []string
		want string
	}{
		// beta = sqrt(307200/200704) = 1.2372; floor(480/1.2372/32) = 12 → 384, floor(640/1.2372/32) = 16 → 512
		{[]string{"--image", tinyA + "/golden/image1.png"}, "grid_thw (1,24,32)"},
		{[]string{"--image", tinyA + "/golden/image1.png", "--max-image-tokens", "192"}, "grid_thw (1,24,32)"},
		// 1×1: round(1/32) = 0 → 0 < 65536: beta = 256, ceil(256/32)·32 = 256 → 256×256
		{[]string{"--image", "../../testdata/images/d05_tiny_1x1.png"}, "grid_thw (1,16,16)"},
		// the 4032×3024 JPEG brought down to 448² pixels: beta = 7.794 → 384×512
		{[]string{"--image", "../../testdata/images/d07_large_4032x3024.jpg"}, "grid_thw (1,24,32)"},
	} {
		stdout, errOut, code := runCLI(t, "", append([]string{"preprocess", "--resize", "native", "--out", out}, c.args...)...)
		if code != 0 || !strings.Contains(stdout, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, stdout, errOut, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		// 2000×50: round(50/32) = round(1.5625) = 2 → 64; round(2000/32) = round(62.5) = 62 (half to even) → 1984
		{[]string{"--image", "../../testdata/images/d08_wide_2000x50.png"}, 0, "grid_thw (1,4,124)"},
		{[]string{"--image", tinyA + "/golden/image1.png", "--min-pixels", "300000", "--max-pixels", "200000"}, 2, "--min-pixels 300000 exceeds --max-pixels 200000"},
		{[]string{"--image", tinyA + "/golden/image1.png", "--max-image-tokens", "-1"}, 2, "--max-image-tokens must be ≥ 0"},
	} {
		stdout, errOut, code := runCLI(t, "", append([]string{"preprocess", "--resize", "native", "--out", out}, c.args...)...)
		if code != c.code || !strings.Contains(stdout+errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, stdout, errOut, c.code, c.want)
		}
	}
}

// TestChatImageFlags: `/image PATH --resize native ...` attaches one image
// at native resolution in a chat whose default is the fixed grid; bad
// flags are a message on stderr and the chat goes on.
func TestChatImageFlags(t *testing.T) {
	script := strings.Join([]string{
		"/image " + tinyA + "/golden/image1.png --resize native --max-image-tokens 48",
		"What is this?",
		"/stats",
		"/image " + tinyA + "/golden/image1.png --resize squash",
		"/image " + tinyA + "/golden/image1.png --max-pixels 0",
		"/image " + tinyA + "/golden/image1.png --resize native extra",
		"/quit",
	}, "\n") + "\n"
	out, errOut, code := runCLI(t, script, "chat", "--model", tinyA, "--max-tokens", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// 640×480 under 48 tokens (49,152 pixels; the default floor follows
	// the ceiling down): beta = 2.5, floor(6.0)·32 = 192, floor(8.0)·32 = 256
	// → 6×8 = 48 tokens; the prompt: 48 pads, <|vision_start|>,
	// <|vision_end|> and the 12 tokens of the framed question.
	if !strings.Contains(out, "prefill 62 tok") {
		t.Fatalf("stats: %q", out)
	}
	for _, want := range []string{"unknown resize mode", "--min-pixels and --max-pixels must be positive", `unexpected "extra"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
}
