package tokenizer

import "unicode/utf8"

// tokenBytes returns the raw bytes id contributes to a decode (the byte-level
// decoding of a vocab entry, the literal content of an added token), or nil
// for an unknown id, which decodes to nothing as in Hugging Face.
func (t *Tokenizer) tokenBytes(id int32) []byte {
	if id < 0 || int(id) >= len(t.kind) || t.kind[id] == kindNone {
		return nil
	}
	return t.blob[t.byteOff[id]:t.byteOff[id+1]]
}

// DecodeBytes returns the raw byte string of ids before UTF-8 repair.
func (t *Tokenizer) DecodeBytes(ids []int32, skipSpecial bool) []byte {
	var out []byte
	for _, id := range ids {
		if skipSpecial && t.IsSpecial(id) {
			continue
		}
		out = append(out, t.tokenBytes(id)...)
	}
	return out
}

// Decode turns ids back into text. Invalid UTF-8 becomes U+FFFD, one per
// maximal subpart (as Rust's from_utf8_lossy). With skipSpecial, added tokens
// marked special are dropped; non-special added tokens such as <think> stay.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	b := t.DecodeBytes(ids, skipSpecial)
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendLossy(nil, b))
}

// utf8Prefix reports how many leading bytes of b form a valid prefix of one
// UTF-8 encoded character (0 if b[0] cannot start one) and whether that
// prefix is the complete character. The ranges are those of Unicode Table 3-7.
func utf8Prefix(b []byte) (n int, complete bool) {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
	switch {
	case c < 0x80:
		return 1, true
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 0, false
	}
	n = 1
	for k := 1; k <= need; k++ {
		if k >= len(b) {
			return n, false
		}
		if b[k] < lo || b[k] > hi {
			return n, false
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n, true
}

// appendLossy appends b to dst, replacing each maximal invalid subpart with U+FFFD.
func appendLossy(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		n, complete := utf8Prefix(b[i:])
		if complete {
			dst = append(dst, b[i:i+n]...)
			i += n
			continue
		}
		dst = append(dst, "\uFFFD"...)
		i += max(n, 1)
	}
	return dst
}

// StreamDecoder turns ids into text one at a time. It emits text as soon as
// it is complete UTF-8 and holds back at most one incomplete character, so the
// concatenation of all Add results and Flush equals Decode of all ids, with no
// U+FFFD that a later token would have completed. Work per token is O(token
// length). A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t           *Tokenizer
	skipSpecial bool
	pending     []byte // bytes of an incomplete trailing character (< 4)
	out         []byte
}

// NewStreamDecoder returns a decoder whose output equals Decode(ids, false).
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// NewStreamDecoderSkipSpecial returns a decoder whose output equals
// Decode(ids, true): special tokens such as <|im_end|> are not shown.
func (t *Tokenizer) NewStreamDecoderSkipSpecial() *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: true}
}

// Add consumes one id and returns the text completed by it (often "").
func (d *StreamDecoder) Add(id int32) string {
	if d.skipSpecial && d.t.IsSpecial(id) {
		return ""
	}
	d.pending = append(d.pending, d.t.tokenBytes(id)...)
	b := d.pending
	d.out = d.out[:0]
	i := 0
	for i < len(b) {
		n, complete := utf8Prefix(b[i:])
		if complete {
			d.out = append(d.out, b[i:i+n]...)
			i += n
			continue
		}
		if n > 0 && i+n == len(b) {
			break // a valid start cut by the token boundary: wait for more bytes
		}
		d.out = append(d.out, "\uFFFD"...)
		i += max(n, 1)
	}
	d.pending = append(d.pending[:0], b[i:]...)
	return string(d.out)
}

// Flush returns what is left (a U+FFFD if the stream ended inside a
// character) and resets the decoder for reuse.
func (d *StreamDecoder) Flush() string {
	s := string(appendLossy(nil, d.pending))
	d.pending = d.pending[:0]
	return s
}
