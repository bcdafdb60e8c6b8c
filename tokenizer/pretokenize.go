package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The Qwen pre-tokenizer regex, written out by hand because Go's regexp has
// no lookahead (needed for `\s+(?!\S)`) and is slower than a direct scan:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)      contractions, ASCII case-insensitive
//	[^\r\n\p{L}\p{N}]?\p{L}+          a word with at most one leading non-letter
//	\p{N}                             one digit (any script)
//	 ?[^\s\p{L}\p{N}]+[\r\n]*         punctuation run, optional leading space, trailing newlines
//	\s*[\r\n]+                        whitespace up to the last newline of the run
//	\s+(?!\S)                         whitespace not followed by a non-space...
//	\s+                               ...else the single remaining whitespace char
//
// The alternatives are tried in order at each position (leftmost-first), and
// every character is covered by some alternative, so the pieces tile the text.
// \s is Unicode White_Space (= unicode.IsSpace), \p{L} unicode.IsLetter,
// \p{N} unicode.IsNumber.

type charClass uint8

const (
	clsOther   charClass = iota // not \s, \p{L}, \p{N}
	clsLetter                   // \p{L}
	clsNumber                   // \p{N}
	clsSpace                    // \s other than \r and \n
	clsNewline                  // \r or \n
)

var asciiClass [128]charClass

func init() {
	for c := 0; c < 128; c++ {
		asciiClass[c] = classOf(rune(c))
	}
}

func classOf(r rune) charClass {
	switch {
	case r == '\r' || r == '\n':
		return clsNewline
	case unicode.IsSpace(r):
		return clsSpace
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	}
	return clsOther
}

// classAt decodes the rune at s[i:] and returns its class and byte length.
// i must be < len(s).
func classAt(s string, i int) (charClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return classOf(r), n
}

// nextPiece returns the byte length of the pre-token starting at s[0];
// s must be non-empty valid UTF-8.
func nextPiece(s string) int {
	// Contractions.
	if s[0] == '\'' && len(s) >= 2 {
		switch s[1] | 0x20 { // ASCII lower-case; (?i) does not fold 'ſ' here
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v', 'l':
			if len(s) >= 3 {
				c2 := s[2] | 0x20
				if (s[1]|0x20 == 'r' && c2 == 'e') || (s[1]|0x20 == 'v' && c2 == 'e') || (s[1]|0x20 == 'l' && c2 == 'l') {
					return 3
				}
			}
		}
	}
	c0, n0 := classAt(s, 0)
	switch c0 {
	case clsLetter:
		return n0 + letterRun(s[n0:])
	case clsNumber:
		return n0
	case clsOther, clsSpace:
		// One non-letter/number/newline char followed by letters.
		if n0 < len(s) {
			if c1, _ := classAt(s, n0); c1 == clsLetter {
				return n0 + letterRun(s[n0:])
			}
		}
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		if c1, _ := classAt(s, 1); c1 == clsOther {
			start = 1
			c0 = clsOther
		}
	}
	if c0 == clsOther {
		i := start
		for i < len(s) {
			c, n := classAt(s, i)
			if c != clsOther {
				break
			}
			i += n
		}
		for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
			i++
		}
		return i
	}
	// Whitespace: c0 is clsSpace or clsNewline. Find the run and its last newline.
	i, lastNL, runes, lastN := 0, -1, 0, 0
	for i < len(s) {
		c, n := classAt(s, i)
		if c != clsSpace && c != clsNewline {
			break
		}
		if c == clsNewline {
			lastNL = i
		}
		i += n
		runes++
		lastN = n
	}
	switch {
	case lastNL >= 0: // `\s*[\r\n]+` (newlines are one byte)
		return lastNL + 1
	case i == len(s) || runes == 1: // `\s+(?!\S)` at the end, or `\s+` for one char
		return i
	default: // `\s+(?!\S)`: leave the last space to prefix the next word
		return i - lastN
	}
}

func letterRun(s string) int {
	i := 0
	for i < len(s) {
		c, n := classAt(s, i)
		if c != clsLetter {
			break
		}
		i += n
	}
	return i
}
