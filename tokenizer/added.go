package tokenizer

import "strings"

// addedToken is an added/special token matched in the raw text before
// normalization and pre-tokenization, as Hugging Face does.
type addedToken struct {
	content string
	id      int32
}

func (t *Tokenizer) buildAddedIndex() {
	for _, a := range t.added {
		t.addedFirst[a.content[0]] = true
	}
}

// matchAdded returns the longest added token that starts s ("" if none);
// t.added is sorted longest first, so the first hit is the longest.
func (t *Tokenizer) matchAdded(s string) (addedToken, bool) {
	if !t.addedFirst[s[0]] {
		return addedToken{}, false
	}
	for _, a := range t.added {
		if strings.HasPrefix(s, a.content) {
			return a, true
		}
	}
	return addedToken{}, false
}

// splitAdded calls text(seg) for each run of ordinary text and special(id)
// for each added token, in order, matching added tokens leftmost-longest.
func (t *Tokenizer) splitAdded(s string, text func(string), special func(int32)) {
	start := 0
	for i := 0; i < len(s); i++ {
		if !t.addedFirst[s[i]] {
			continue
		}
		a, ok := t.matchAdded(s[i:])
		if !ok {
			continue
		}
		if i > start {
			text(s[start:i])
		}
		special(a.id)
		i += len(a.content) - 1
		start = i + 1
	}
	if start < len(s) {
		text(s[start:])
	}
}
