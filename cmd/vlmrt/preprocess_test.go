package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// TestPreprocessCommandMatchesReference runs `vlmrt preprocess` on a
// lossless reference image and checks both written tensors against the
// Hugging Face reference: the resized pixels against rgb448.png and the
// patches against the manifest's sha256 of the exact float32 values.
func TestPreprocessCommandMatchesReference(t *testing.T) {
	const dir = "../../testdata/images"
	const name = "d11_palette_trns_200x150"
	out := filepath.Join(t.TempDir(), "p.safetensors")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"preprocess", "--image", filepath.Join(dir, name+".png"), "--out", out}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patches, err := f.Tensor("patches")
	if err != nil {
		t.Fatal(err)
	}
	if patches.DType != safetensors.F32 || len(patches.Shape) != 2 || patches.Shape[0] != 784 || patches.Shape[1] != 1536 {
		t.Fatalf("patches: %s %v", patches.DType, patches.Shape)
	}
	var manifest struct {
		Images []struct {
			File string `json:"file"`
			Sha  string `json:"patches_f32_sha256"`
		} `json:"images"`
	}
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &manifest); err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, im := range manifest.Images {
		if im.File == name+".png" {
			want = im.Sha
		}
	}
	sum := sha256.Sum256(patches.Data)
	if got := hex.EncodeToString(sum[:]); want == "" || got != want {
		t.Errorf("patches sha256 %s, manifest %q", got, want)
	}

	resized, err := f.Tensor("resized")
	if err != nil {
		t.Fatal(err)
	}
	if resized.DType != safetensors.U8 || len(resized.Shape) != 3 || resized.Shape[0] != 448 || resized.Shape[1] != 448 || resized.Shape[2] != 3 {
		t.Fatalf("resized: %s %v", resized.DType, resized.Shape)
	}
	rf, err := os.Open(filepath.Join(dir, name+".rgb448.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	ref, err := png.Decode(rf)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 448; y++ {
		for x := 0; x < 448; x++ {
			r, g, b, _ := ref.At(x, y).RGBA()
			i := (y*448 + x) * 3
			if got := resized.Data[i : i+3]; got[0] != uint8(r>>8) || got[1] != uint8(g>>8) || got[2] != uint8(b>>8) {
				t.Fatalf("resized pixel (%d,%d) = %v, reference %d,%d,%d", x, y, got, r>>8, g>>8, b>>8)
			}
		}
	}
}

func TestPreprocessCommandErrors(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join("../../testdata/images", "d05_tiny_1x1.png")
	bad := filepath.Join(dir, "bad.png")
	if err := os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"preprocess"}, 2, "--image and --out are required"},
		{[]string{"preprocess", "--image", img, "--out", filepath.Join(dir, "o"), "--resize", "squash"}, 2, "unknown resize mode"},
		{[]string{"preprocess", "--image", bad, "--out", filepath.Join(dir, "o")}, 1, "corrupt or truncated"},
		{[]string{"preprocess", "--image", img, "--out", filepath.Join(dir, "o"), "--max-decoded-pixels", "0"}, 0, ""},
		{[]string{"preprocess", "--image", filepath.Join("../../testdata/images", "d02_gradient_640x480.png"), "--out", filepath.Join(dir, "o"), "--max-decoded-pixels", "1000"}, 1, "exceeds the pixel limit"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), c.args, nil, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.contains) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", c.args, code, stderr.String(), c.code, c.contains)
		}
	}
}
