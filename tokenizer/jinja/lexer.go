// Package jinja renders the subset of Jinja2 that Hugging Face chat templates
// use, with the settings of transformers' apply_chat_template: trim_blocks,
// lstrip_blocks, and tojson = json.dumps(ensure_ascii=False). Dicts keep
// their insertion order (as Python does), which tojson output depends on.
//
// Supported: {{ }}, {% if/elif/else %}, {% for [k, v] in ... [if cond] %} with
// loop.* and {% else %}, {% set %} (also ns.attr), comments, whitespace
// control (-), filters, tests, string/dict methods, slicing, namespace(),
// range(), raise_exception(). Unsupported tags are reported as errors.
package jinja

import (
	"fmt"
	"strings"
)

type segKind int

const (
	segText segKind = iota
	segExpr         // {{ ... }}
	segStmt         // {% ... %}
)

// segment is a piece of template source: literal text or the inside of a tag.
type segment struct {
	kind segKind
	text string
	line int
}

// lex splits src into segments, applying whitespace control, trim_blocks
// (drop the first newline after a block tag) and lstrip_blocks (drop spaces
// and tabs before a block tag at the start of a line).
func lex(src string) ([]segment, error) {
	var segs []segment
	line := 1
	trimNextLeft := false // the previous tag ended with "-"
	trimNextNL := false   // the previous tag was a block/comment tag (trim_blocks)
	lineStart := true     // the next text starts at the beginning of a line
	for len(src) > 0 {
		i := indexTagOpen(src)
		text := src
		if i >= 0 {
			text = src[:i]
		}
		if trimNextLeft {
			t := strings.TrimLeft(text, " \t\r\n")
			if len(t) < len(text) {
				lineStart = text[len(text)-len(t)-1] == '\n'
			}
			text = t
		} else if trimNextNL {
			if strings.HasPrefix(text, "\n") {
				text, lineStart = text[1:], true
			} else if strings.HasPrefix(text, "\r\n") {
				text, lineStart = text[2:], true
			}
		}
		if i < 0 {
			if text != "" {
				segs = append(segs, segment{segText, text, line})
			}
			break
		}
		open := src[i : i+2]
		rest := src[i+2:]
		tagLine := line + strings.Count(src[:i], "\n")
		stripLeft := strings.HasPrefix(rest, "-")
		keepLeft := strings.HasPrefix(rest, "+")
		if stripLeft || keepLeft {
			rest = rest[1:]
		}
		if stripLeft {
			text = strings.TrimRight(text, " \t\r\n")
		} else if open != "{{" && !keepLeft {
			// lstrip_blocks: only spaces/tabs between the line start and the tag.
			j := strings.LastIndexByte(text, '\n')
			tail := text[j+1:]
			if strings.Trim(tail, " \t") == "" && (j >= 0 || lineStart) {
				text = text[:j+1]
			}
		}
		if text != "" {
			segs = append(segs, segment{segText, text, line})
		}
		var close string
		switch open {
		case "{{":
			close = "}}"
		case "{%":
			close = "%}"
		default:
			close = "#}"
		}
		end := indexClose(rest, close, open == "{#")
		if end < 0 {
			return nil, fmt.Errorf("line %d: unclosed %s", tagLine, open)
		}
		inner := rest[:end]
		after := rest[end+2:]
		trimNextLeft = strings.HasSuffix(inner, "-")
		if trimNextLeft || strings.HasSuffix(inner, "+") {
			inner = inner[:len(inner)-1]
		}
		trimNextNL = open != "{{" && !strings.HasSuffix(rest[:end], "+")
		switch open {
		case "{{":
			segs = append(segs, segment{segExpr, inner, tagLine})
		case "{%":
			segs = append(segs, segment{segStmt, inner, tagLine})
		}
		line += strings.Count(src[:len(src)-len(after)], "\n")
		src = after
		lineStart = false
	}
	return segs, nil
}

func indexTagOpen(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return -1
}

// indexClose finds the closing delimiter, skipping over string literals
// inside expression and statement tags.
func indexClose(s, close string, comment bool) int {
	if comment {
		return strings.Index(s, close)
	}
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
			continue
		}
		if strings.HasPrefix(s[i:], close) {
			return i
		}
	}
	return -1
}

// Expression tokens.
type tokKind int

const (
	tkEOF tokKind = iota
	tkName
	tkString
	tkInt
	tkFloat
	tkOp
)

type token struct {
	kind tokKind
	s    string
}

func tokenize(src string, line int) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isNameStart(c):
			j := i + 1
			for j < len(src) && (isNameStart(src[j]) || (src[j] >= '0' && src[j] <= '9')) {
				j++
			}
			toks = append(toks, token{tkName, src[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '_') {
				j++
			}
			kind := tkInt
			if j+1 < len(src) && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
				kind = tkFloat
				j++
				for j < len(src) && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			// Exponent: 1e20, 2.5E-3.
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					for k < len(src) && src[k] >= '0' && src[k] <= '9' {
						k++
					}
					kind, j = tkFloat, k
				}
			}
			toks = append(toks, token{kind, strings.ReplaceAll(src[i:j], "_", "")})
			i = j
		case c == '\'' || c == '"':
			s, n, err := unquote(src[i:])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			toks = append(toks, token{tkString, s})
			i += n
		default:
			op := ""
			for _, o := range []string{"//", "**", "==", "!=", "<=", ">="} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				if !strings.ContainsRune("+-*/%~|.,:()[]{}=<>!", rune(c)) {
					return nil, fmt.Errorf("line %d: unexpected character %q in expression", line, c)
				}
				op = string(c)
			}
			toks = append(toks, token{tkOp, op})
			i += len(op)
		}
	}
	return append(toks, token{kind: tkEOF}), nil
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// unquote reads a Python/Jinja string literal at the start of s.
func unquote(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		case '0':
			b.WriteByte(0)
		default: // Python keeps unknown escapes verbatim
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return "", 0, fmt.Errorf("unterminated string literal")
}
