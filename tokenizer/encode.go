package tokenizer

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Encode tokenizes text without adding any special tokens
// (add_special_tokens=False; Qwen adds none either way). Added tokens such
// as "<|image_pad|>" are recognized anywhere in the raw text. Invalid UTF-8
// is replaced by U+FFFD first, since the reference only accepts valid strings.
func (t *Tokenizer) Encode(text string) []int32 {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	ids := make([]int32, 0, len(text)/3+4)
	t.splitAdded(text,
		func(seg string) { ids = t.encodeSegment(ids, seg) },
		func(id int32) { ids = append(ids, id) })
	return ids
}

// encodeSegment encodes text that holds no added token.
func (t *Tokenizer) encodeSegment(dst []int32, seg string) []int32 {
	if !norm.NFC.IsNormalString(seg) {
		seg = norm.NFC.String(seg)
	}
	for len(seg) > 0 {
		n := nextPiece(seg)
		dst = t.encodeWord(dst, seg[:n])
		seg = seg[n:]
	}
	return dst
}

func (t *Tokenizer) encodeWord(dst []int32, w string) []int32 {
	if len(w) == 1 {
		return append(dst, t.byteIDs[w[0]])
	}
	// No shortcut through a whole-word vocab lookup: BPE need not end in the
	// word's own token, so every word goes through the merges (memoized).
	if ids, ok := t.cache.get(w); ok {
		return append(dst, ids...)
	}
	start := len(dst)
	dst = t.bpeWord(dst, w)
	t.cache.put(w, append([]int32(nil), dst[start:]...))
	return dst
}
