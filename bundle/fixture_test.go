package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Paths inside a copied Core AI fixture (testdata/bundles/coreai).
const (
	seedDecoder = "qwen3_vl_4b_instruct_decode_int8hu_s1"
	seedVision  = "qwen3_vl_4b_instruct_vision"
)

// seedPair is a fresh copy of the Core AI fixture, shaped like the published
// repository: root/gpu-pipelined/{decoder, vision}.
type seedPair struct {
	root, pipelined, decoder, vision string
}

func (s seedPair) decoderAsset() string {
	return filepath.Join(s.decoder, seedDecoder+AssetSuffix)
}

func (s seedPair) visionAsset() string {
	return filepath.Join(s.vision, seedVision+AssetSuffix)
}

// newSeedPair copies the committed fixture into a temporary directory and
// adds the real tokenizer (kept once, in testdata/tokenizer, not per fixture).
func newSeedPair(t *testing.T) seedPair {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Qwen3-VL-4B-CoreAI")
	copyTree(t, filepath.Join("..", "testdata", "bundles", "coreai"), root)
	s := seedPair{root: root, pipelined: filepath.Join(root, "gpu-pipelined")}
	s.decoder = filepath.Join(s.pipelined, seedDecoder)
	s.vision = filepath.Join(s.pipelined, seedVision)
	copyFile(t, filepath.Join("..", "testdata", "tokenizer", "tokenizer.json.gz"), filepath.Join(s.decoder, TokenizerDir, "tokenizer.json.gz"))
	return s
}

// editJSON rewrites a JSON object file through edit.
func editJSON(t *testing.T, path string, edit func(m map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func language(m map[string]any) map[string]any { return m["language"].(map[string]any) }

// copyTree copies the directory tree src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies one file.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err == nil {
		err = os.WriteFile(dst, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}
