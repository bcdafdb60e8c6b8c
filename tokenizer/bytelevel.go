package tokenizer

// The byte-level alphabet of GPT-2 style BPE: every byte maps to one printable
// code point so that vocab entries are valid strings. Printable Latin-1 bytes
// map to themselves; the other 68 bytes are moved to U+0100 onwards in byte
// order. Vocab strings are written in this alphabet ("Ġ" is a space).

// byteToRune maps a raw byte to its byte-level code point.
var byteToRune [256]rune

// runeToByte maps a byte-level code point back to its byte; ok is false for
// code points outside the alphabet.
func runeToByte(r rune) (byte, bool) {
	if r < 0 || int(r) >= len(runeToByteTable) {
		return 0, false
	}
	b := runeToByteTable[r]
	if b < 0 {
		return 0, false
	}
	return byte(b), true
}

var runeToByteTable [324]int16

func init() {
	for i := range runeToByteTable {
		runeToByteTable[i] = -1
	}
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByteTable[byteToRune[b]] = int16(b)
	}
}

// byteLevelDecode turns a vocab string back into raw bytes. ok is false if the
// string holds a code point outside the byte-level alphabet.
func byteLevelDecode(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := runeToByte(r)
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}
