package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/safetensors"
)

const tinyA = "../../testdata/tiny-a"

type runJSON struct {
	PromptIDs    []int32        `json:"prompt_ids"`
	GeneratedIDs []int32        `json:"generated_ids"`
	Text         string         `json:"text"`
	Stats        map[string]any `json:"stats"`
}

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func goldenGreedy(t *testing.T, file, prompt string) (ids, greedy []int32) {
	t.Helper()
	var in struct {
		Prompts map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"prompts"`
	}
	var gd struct {
		Prompts map[string]struct {
			Greedy struct {
				Tokens []int32 `json:"tokens"`
			} `json:"greedy"`
		} `json:"prompts"`
	}
	for path, v := range map[string]any{tinyA + "/golden/inputs.json": &in, tinyA + "/golden/" + file: &gd} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return in.Prompts[prompt].IDs, gd.Prompts[prompt].Greedy.Tokens
}

// TestRunImageGolden: `vlmrt run --image` on tiny-a's golden image, through
// the chat template, reproduces the oracle's prompt ids and greedy tokens.
func TestRunImageGolden(t *testing.T) {
	for _, c := range []struct{ precision, file string }{{"int8", "decoder_q8.json"}, {"f32", "decoder_fp.json"}} {
		ids, greedy := goldenGreedy(t, c.file, "image")
		out, errOut, code := runCLI(t, "", "run", "--model", tinyA, "--image", tinyA+"/golden/image1.png",
			"--prompt", "Describe this image.", "--max-tokens", "24", "--precision", c.precision, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var r runJSON
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("bad JSON %q: %v", out, err)
		}
		if !slices.Equal(r.PromptIDs, ids) {
			t.Fatalf("%s: prompt ids differ from the oracle's", c.precision)
		}
		if !slices.Equal(r.GeneratedIDs, greedy) {
			t.Fatalf("%s: generated %v, oracle %v", c.precision, r.GeneratedIDs, greedy)
		}
		if r.Text == "" || r.Stats["prefill_tokens"].(float64) != float64(len(ids)) {
			t.Fatalf("missing text or stats: %+v", r)
		}
	}
}

// TestRunExpertInputs: --patches and --prompt-ids work on their own.
func TestRunExpertInputs(t *testing.T) {
	dir := t.TempDir()
	vs, err := safetensors.Open(tinyA + "/golden/vision.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer vs.Close()
	pt, _ := vs.Tensor("image1.patches")
	patches := filepath.Join(dir, "p.safetensors")
	if err := safetensors.WriteFile(patches, []safetensors.Tensor{{Name: "patches", DType: pt.DType, Shape: pt.Shape, Data: pt.Data}}, nil); err != nil {
		t.Fatal(err)
	}
	ids, greedy := goldenGreedy(t, "decoder_q8.json", "image")
	idsFile := filepath.Join(dir, "ids.json")
	b, _ := json.Marshal(ids)
	os.WriteFile(idsFile, b, 0o644)
	out, errOut, code := runCLI(t, "", "run", "--model", tinyA, "--patches", patches, "--prompt-ids", idsFile, "--max-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r runJSON
	json.Unmarshal([]byte(out), &r)
	if !slices.Equal(r.GeneratedIDs, greedy) || !slices.Equal(r.PromptIDs, ids) {
		t.Fatalf("expert run: got %v want %v", r.GeneratedIDs, greedy)
	}
	// precomputed patches through the chat template
	out, errOut, code = runCLI(t, "", "run", "--model", tinyA, "--patches", patches, "--prompt", "Describe this image.", "--max-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	json.Unmarshal([]byte(out), &r)
	if !slices.Equal(r.GeneratedIDs, greedy) || !slices.Equal(r.PromptIDs, ids) {
		t.Fatalf("--patches with --prompt: got %v want %v", r.GeneratedIDs, greedy)
	}
	// text-only prompt ids
	tids, tgreedy := goldenGreedy(t, "decoder_q8.json", "text")
	b, _ = json.Marshal(tids)
	os.WriteFile(idsFile, b, 0o644)
	out, errOut, code = runCLI(t, "", "run", "--model", tinyA, "--prompt-ids", idsFile, "--max-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	json.Unmarshal([]byte(out), &r)
	if !slices.Equal(r.GeneratedIDs, tgreedy) {
		t.Fatalf("text-only: got %v want %v", r.GeneratedIDs, tgreedy)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"x":1}`), 0o644)
	pads := filepath.Join(dir, "pads.json")
	os.WriteFile(pads, []byte(`[151644, 151655, 151655]`), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--prompt", "hi"}, 2, "--model is required"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--backend", "coreai"}, 1, `backend "coreai" is not included in this build`},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--backend", "tpu"}, 1, `unknown backend "tpu"`},
		{[]string{"run", "--bogus"}, 2, "flag provided but not defined: -bogus (see vlmrt run --help)"},
		{[]string{"run", "--max-tokens", "x"}, 2, `invalid value "x" for flag -max-tokens`},
		{[]string{"run", "--model", tinyA}, 2, "exactly one of --prompt and --prompt-ids"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--temperature", "-1"}, 2, "temperature"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--precision", "q4"}, 2, "unknown precision"},
		{[]string{"run", "--model", filepath.Join(dir, "nope"), "--prompt", "hi"}, 1, "nope"},
		{[]string{"run", "--model", tinyA, "--prompt-ids", bad}, 1, "JSON array of token ids"},
		{[]string{"run", "--model", tinyA, "--prompt-ids", pads}, 1, "image pad tokens"},
		{[]string{"run", "--model", tinyA, "--image", filepath.Join(dir, "missing.png"), "--prompt", "hi"}, 1, "missing.png"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--resize", "zoom"}, 2, "resize"},
		{[]string{"run", "--model", tinyA, "--prompt", ""}, 2, "--prompt is empty"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--threads", "-1"}, 2, "--threads must be ≥ 0 (0 = all cores), got -1"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--ctx", "-5"}, 2, "--ctx must be ≥ 0 (0 = the model's default), got -5"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--ctx", "9223372036854775807"}, 1, "exceeds the model's max_position_embeddings 262144"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--temperature", "1e39"}, 2, "temperature +Inf must be finite"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--acts", "int4"}, 2, `--acts: unsupported input: activation format "int4": want auto, f32, int16 or int8`},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--acts", "int16", "--backend", "vulkan"}, 1, "int16 activations are a CPU-backend option"},
	} {
		_, errOut, code := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line containing %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

func TestRunStreamsText(t *testing.T) {
	out, errOut, code := runCLI(t, "", "run", "--model", tinyA, "--prompt", "Hello", "--max-tokens", "5", "--stats")
	if code != 0 || out == "" || !strings.Contains(errOut, "decode 5 tok") {
		t.Fatalf("exit %d out %q err %q", code, out, errOut)
	}
}

// TestRunNativeGrid: the golden `dynamic` case (image1 at its native
// 640×480: a 30×40 patch grid, 300 image tokens) through --patches --grid
// --prompt-ids reproduces the oracle's greedy tokens.
func TestRunNativeGrid(t *testing.T) {
	var cases struct {
		Cases map[string]struct {
			IDs []int32 `json:"ids"`
			FP  struct {
				Greedy []int32 `json:"greedy"`
			} `json:"fp"`
		} `json:"cases"`
	}
	b, err := os.ReadFile(tinyA + "/golden/more/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	dyn := cases.Cases["dynamic"]
	src, err := safetensors.Open(tinyA + "/golden/more/patches.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pt, _ := src.Tensor("dynamic.patches")
	dir := t.TempDir()
	patches, idsFile := filepath.Join(dir, "p.safetensors"), filepath.Join(dir, "ids.json")
	if err := safetensors.WriteFile(patches, []safetensors.Tensor{{Name: "patches", DType: pt.DType, Shape: pt.Shape, Data: pt.Data}}, nil); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(dyn.IDs)
	os.WriteFile(idsFile, b, 0o644)
	out, errOut, code := runCLI(t, "", "run", "--model", tinyA, "--precision", "f32", "--patches", patches, "--grid", "30x40",
		"--prompt-ids", idsFile, "--max-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r runJSON
	json.Unmarshal([]byte(out), &r)
	if !slices.Equal(r.GeneratedIDs, dyn.FP.Greedy) {
		t.Fatalf("native grid: got %v want %v", r.GeneratedIDs, dyn.FP.Greedy)
	}
	// a wrong grid is a clear error naming the shapes
	_, errOut, code = runCLI(t, "", "run", "--model", tinyA, "--patches", patches, "--grid", "28x28", "--prompt-ids", idsFile)
	if code != 1 || !strings.Contains(errOut, "has shape [1200 1536], want [784 1536]") {
		t.Fatalf("wrong grid: exit %d %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "", "run", "--model", tinyA, "--patches", patches, "--grid", "30x40", "--prompt", "hi")
	if code != 2 || !strings.Contains(errOut, "--grid needs --prompt-ids") {
		t.Fatalf("grid without prompt-ids: exit %d %q", code, errOut)
	}
}
