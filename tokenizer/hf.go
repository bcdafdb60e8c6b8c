//go:build hftokenizers

package tokenizer

import (
	"fmt"
	"path/filepath"
	"strings"

	hf "github.com/daulet/tokenizers"
)

// HFTokenizer wraps Hugging Face's Rust tokenizers library (through
// github.com/daulet/tokenizers, cgo). Linking needs libtokenizers.a, which
// users build themselves; see tokenizer/README.md.
type HFTokenizer struct {
	tk *hf.Tokenizer
}

var _ Encoder = (*HFTokenizer)(nil)

// LoadHF loads the same tokenizer.json (or .gz) that Load would use.
func LoadHF(dir string) (*HFTokenizer, error) {
	path, raw, err := readTokenizerJSON(dir)
	if err != nil {
		return nil, err
	}
	tk, err := hf.FromBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: hftokenizers: %s: %w", filepath.Base(path), err)
	}
	return &HFTokenizer{tk: tk}, nil
}

// Encode tokenizes text without adding special tokens. The C interface
// takes NUL-terminated strings, so text is cut at the first NUL byte.
func (h *HFTokenizer) Encode(text string) []int32 {
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	ids, _ := h.tk.Encode(text, false)
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// Decode turns ids back into text.
func (h *HFTokenizer) Decode(ids []int32, skipSpecial bool) string {
	u := make([]uint32, 0, len(ids))
	for _, id := range ids {
		if id >= 0 {
			u = append(u, uint32(id))
		}
	}
	return h.tk.Decode(u, skipSpecial)
}

// Close frees the Rust tokenizer.
func (h *HFTokenizer) Close() error { return h.tk.Close() }
