package tokenizer

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// plainTokenizerJSON returns the uncompressed tokenizer.json of the test data.
func plainTokenizerJSON(t *testing.T) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(testDir, "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadLayouts(t *testing.T) {
	ref := testTokenizer(t)
	raw := plainTokenizerJSON(t)
	cfg, err := os.ReadFile(filepath.Join(testDir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A bundle: plain tokenizer.json under tokenizer/, generation config one level up,
	// no chat template file: tokenizer_config.json's (Qwen3 text) template is used.
	bundle := t.TempDir()
	writeFile(t, filepath.Join(bundle, "tokenizer", "tokenizer.json"), raw)
	writeFile(t, filepath.Join(bundle, "tokenizer", "tokenizer_config.json"), cfg)
	writeFile(t, filepath.Join(bundle, "generation_config.json"), []byte(`{"eos_token_id": [151645, 151643], "top_k": 20}`))
	tok, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	text := "Hello <|im_start|>wörld 123 \n\n  x"
	if !slices.Equal(tok.Encode(text), ref.Encode(text)) {
		t.Error("plain and gzipped tokenizer.json encode differently")
	}
	if got := tok.EOSIDs(); !slices.Equal(got, []int32{151645, 151643}) {
		t.Errorf("EOSIDs = %v", got)
	}
	if _, origin := tok.ChatTemplate(); !strings.HasSuffix(origin, "tokenizer_config.json") {
		t.Errorf("template origin %s, want tokenizer_config.json", origin)
	}
	// The Qwen3 text template renders a plain text conversation like the VL one.
	msgs := []Message{TextMessage("system", "Be brief."), TextMessage("user", "Hi!"), TextMessage("assistant", "<think>\nhm\n</think>\n\nHello."), TextMessage("user", "Bye")}
	got, err := tok.RenderChat(msgs, ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	// The text template strips the think block of assistant turns before the last user query.
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Errorf("Qwen3 text template:\n got %q\nwant %q", got, want)
	}

	// Only tokenizer.json: the embedded VL template and <|endoftext|> as eos.
	bare := t.TempDir()
	writeFile(t, filepath.Join(bare, "tokenizer.json"), raw)
	tok2, err := Load(filepath.Join(bare, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, origin := tok2.ChatTemplate(); !strings.Contains(origin, "built-in") {
		t.Errorf("template origin %s, want the built-in one", origin)
	}
	if got := tok2.EOSIDs(); !slices.Equal(got, []int32{151643}) {
		t.Errorf("EOSIDs without config = %v", got)
	}
	for _, c := range readChats(t) {
		if r, err := tok2.RenderChat(c.Messages, chatOptions(t, c)); err != nil || r != c.Rendered {
			t.Errorf("built-in template, %s: %v\n got %q\nwant %q", c.Name, err, r, c.Rendered)
		}
	}
	if got := ref.EOSIDs(); !slices.Equal(got, []int32{151645, 151643}) {
		t.Errorf("test data EOSIDs = %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	raw := string(plainTokenizerJSON(t))
	cases := []struct {
		name, json, want string
	}{
		{"not json", "{", "parse"},
		{"other regex", strings.Replace(raw, `?[^\\s\\p{L}\\p{N}]+`, `?[^\\s\\p{L}]+`, 1), "Split"},
		{"wordpiece", strings.Replace(raw, `"type": "BPE"`, `"type": "WordPiece"`, 1), "model type"},
		{"lstrip", strings.Replace(raw, `"lstrip": false`, `"lstrip": true`, 1), "lstrip"},
	}
	for _, c := range cases {
		if c.json == raw {
			t.Fatalf("%s: replacement did not apply", c.name)
		}
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "tokenizer.json"), []byte(c.json))
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want mention of %q", c.name, err, c.want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("empty dir: %v", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tokenizer.json"), []byte(raw))
	writeFile(t, filepath.Join(dir, "tokenizer_config.json"), []byte(`{"eos_token": "<|nope|>"}`))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "<|nope|>") {
		t.Errorf("unknown eos token: %v", err)
	}
}

func TestAccessors(t *testing.T) {
	tok := testTokenizer(t)
	id, ok := tok.TokenID("<|image_pad|>")
	if !ok || id != 151655 {
		t.Errorf("TokenID(<|image_pad|>) = %d, %v", id, ok)
	}
	if tok.Piece(id) != "<|image_pad|>" || tok.Piece(-1) != "" || tok.Piece(1<<30) != "" {
		t.Error("Piece")
	}
	if tok.VocabSize() != 151669 {
		t.Errorf("VocabSize = %d", tok.VocabSize())
	}
	think, _ := tok.TokenID("<think>")
	if tok.IsSpecial(think) || !tok.IsSpecial(id) {
		t.Error("IsSpecial: <think> is a non-special added token, <|image_pad|> special")
	}
	if got := tok.Encode(strings.Repeat("<|image_pad|>", 196)); len(got) != 196 {
		t.Errorf("196 pads gave %d ids", len(got))
	}
	if got := tok.Decode([]int32{-5, 1 << 30, 9707}, false); got != "Hello" {
		t.Errorf("unknown ids: %q", got)
	}
}

// TestBPEPaths checks the array merge loop against the heap one on every
// pre-token of the encode cases.
func TestBPEPaths(t *testing.T) {
	tok := testTokenizer(t)
	n := 0
	for _, c := range readCases(t) {
		s := c.Text
		for len(s) > 0 {
			k := nextPiece(s)
			w := s[:k]
			s = s[k:]
			if len(w) > shortWordLimit {
				continue
			}
			n++
			if a, b := tok.bpeWord(nil, w), tok.bpeWordHeap(nil, w); !slices.Equal(a, b) {
				t.Fatalf("%q: array %v, heap %v", w, a, b)
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d words checked", n)
	}
}

func TestPreTokenizerPitfalls(t *testing.T) {
	cases := map[string][]string{
		"a   b":          {"a", "  ", " b"},
		"x \t\n":         {"x", " \t\n"},
		"\n  b":          {"\n", " ", " b"},
		"it'S a'LL":      {"it", "'S", " a", "'LL"},
		"'ſ":             {"'ſ"},
		"x\u0085y":       {"x", "\u0085y"},
		"a\u0085\u0085b": {"a", "\u0085", "\u0085b"},
		"١٢":             {"١", "٢"},
		" !!\n\nz":       {" !!\n\n", "z"},
		"(hi":            {"(hi"},
		"end  ":          {"end", "  "},
	}
	for in, want := range cases {
		var got []string
		for s := in; len(s) > 0; {
			k := nextPiece(s)
			got = append(got, s[:k])
			s = s[k:]
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}
