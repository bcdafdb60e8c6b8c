package engine

import "strings"

// StopMatcher finds stop strings in streamed text, even when one spans
// several tokens, and holds back text that might still become a stop string
// so that a stop string is never emitted.
type StopMatcher struct {
	stops   []string
	pending string
}

// NewStopMatcher watches for any of stops (empty strings are ignored).
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Push adds a piece of generated text. It returns the text that is safe to
// emit now and whether a stop string was found (the text before it is
// emitted; the stop string and anything after it are dropped).
func (m *StopMatcher) Push(piece string) (emit string, stopped bool) {
	if len(m.stops) == 0 {
		return piece, false
	}
	m.pending += piece
	first := -1
	for _, s := range m.stops {
		if i := strings.Index(m.pending, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		emit = m.pending[:first]
		m.pending = ""
		return emit, true
	}
	// Keep the longest suffix of pending that is a prefix of some stop string.
	keep := 0
	for _, s := range m.stops {
		for k := min(len(s)-1, len(m.pending)); k > keep; k-- {
			if strings.HasSuffix(m.pending, s[:k]) {
				keep = k
				break
			}
		}
	}
	emit = m.pending[:len(m.pending)-keep]
	m.pending = m.pending[len(m.pending)-keep:]
	return emit, false
}

// Flush returns held-back text at the end of generation.
func (m *StopMatcher) Flush() string {
	s := m.pending
	m.pending = ""
	return s
}
