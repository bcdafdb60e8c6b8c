package hub

import (
	"fmt"
	"regexp"
	"strings"
)

// fileFilter selects repository files by glob, with the semantics of
// huggingface_hub's allow_patterns (Python fnmatch on the whole path): '*'
// and '?' also match '/', "[...]" is a character class ("[!...]" negated),
// and a pattern ending in '/' means "everything under this folder". Those are
// the rules users know from `hf download --include`, so --include behaves the
// same here.
type fileFilter struct {
	patterns []string // as the user wrote them, for messages
	res      []*regexp.Regexp
}

func newFileFilter(patterns []string) (fileFilter, error) {
	f := fileFilter{patterns: patterns}
	for _, p := range patterns {
		if p == "" {
			return fileFilter{}, fmt.Errorf("empty --include pattern")
		}
		if strings.HasSuffix(p, "/") {
			p += "*"
		}
		re, err := globRegexp(p)
		if err != nil {
			return fileFilter{}, err
		}
		f.res = append(f.res, re)
	}
	return f, nil
}

func (f fileFilter) empty() bool { return len(f.res) == 0 }

func (f fileFilter) String() string { return strings.Join(f.patterns, " ") }

// match reports whether name is selected; an empty filter selects everything.
func (f fileFilter) match(name string) bool {
	if f.empty() {
		return true
	}
	for _, re := range f.res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// globRegexp translates one fnmatch pattern into an anchored regexp.
func globRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^`)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			// "[]...]" and "[!]...]" put a literal ']' first in the class.
			start := i + 1
			if start < len(pattern) && pattern[start] == '!' {
				start++
			}
			if start < len(pattern) && pattern[start] == ']' {
				if e := strings.IndexByte(pattern[start+1:], ']'); e >= 0 {
					end = start + 1 + e - (i + 1)
				} else {
					end = -1
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("--include pattern %q has an unclosed '['", pattern)
			}
			class := pattern[i+1 : i+1+end]
			i += 1 + end
			b.WriteByte('[')
			if strings.HasPrefix(class, "!") {
				b.WriteByte('^')
				class = class[1:]
			}
			for _, r := range class {
				if r == '\\' || r == '[' || r == ']' || r == '^' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte(']')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("--include pattern %q: %v", pattern, err)
	}
	return re, nil
}
