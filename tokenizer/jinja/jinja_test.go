package jinja

import (
	"errors"
	"strings"
	"testing"
)

func render(t *testing.T, src string, vars map[string]Value) string {
	t.Helper()
	tmpl, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	out, err := tmpl.Render(vars)
	if err != nil {
		t.Fatalf("Render(%q): %v", src, err)
	}
	return out
}

func mustJSON(t *testing.T, s string) Value {
	t.Helper()
	v, err := FromJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRenderCases(t *testing.T) {
	vars := map[string]Value{
		"msgs":  mustJSON(t, `[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]`),
		"obj":   mustJSON(t, `{"z": 1, "a": [true, null, 1.5, "é\"\n\u0001<>&"], "m": {}}`),
		"s":     "  Hello World  ",
		"n":     int64(7),
		"empty": []Value{},
	}
	cases := []struct{ src, want string }{
		// trim_blocks drops the newline after a block tag; lstrip_blocks the indent before it.
		{"{% if true %}\n  x\n  {% endif %}\ny", "  x\ny"},
		{"a  {%- if true -%}  b  {%- endif -%}  c", "abc"},
		{"{{- ' a ' -}}", " a "},
		{"x {{ n }} y", "x 7 y"},
		{"  {%+ if true %}k{% endif %}", "  k"},
		{"{# note #}\nq", "q"},
		{"{% for m in msgs %}{{ loop.index0 }}{{ m.role }}{% if not loop.last %},{% endif %}{% endfor %}", "0user,1assistant"},
		{"{% for m in msgs[::-1] %}{{ m['role'][:1] }}{% endfor %}", "au"},
		{"{% for m in msgs if m.role == 'assistant' %}{{ loop.length }}{{ m.content }}{% endfor %}", "1yo"},
		{"{% for x in empty %}no{% else %}none{% endfor %}", "none"},
		{"{% for k, v in obj.items() %}{{ k }}{% endfor %}", "zam"},
		{"{{ obj | tojson }}", `{"z": 1, "a": [true, null, 1.5, "é\"\n\u0001<>&"], "m": {}}`},
		{"{{ obj.a | tojson(indent=2) }}", "[\n  true,\n  null,\n  1.5,\n  \"é\\\"\\n\\u0001<>&\"\n]"},
		{"{% set ns = namespace(c=0) %}{% for m in msgs %}{% set ns.c = ns.c + 2 %}{% endfor %}{{ ns.c }}", "4"},
		{"{% set c = 1 %}{% for m in msgs %}{% set c = 5 %}{% endfor %}{{ c }}", "1"},
		{"{{ s.strip() }}|{{ s | trim }}|{{ s.lstrip() }}|{{ 'a\\nb\\n'.rstrip('\\n') }}", "Hello World|Hello World|Hello World  |a\nb"},
		{"{{ 'a</think>b'.split('</think>')[-1] }}{{ 'x' in 'xyz' }}{{ 'q' not in 'xyz' }}", "bTrueTrue"},
		{"{{ s.startswith('  H') }}{{ 'abc'.endswith(('x', 'c')) }}", "TrueTrue"},
		{"{{ msgs | length - 1 }}{{ 7 // 2 }}{{ -7 // 2 }}{{ 7 % 3 }}{{ 2 ** 3 }}{{ 1 / 2 }}", "13-4180.5"},
		{"{{ 'a' ~ 1 ~ none }}{{ [1, 'b'] }}{{ none }}{{ undefined_var }}", "a1None[1, 'b']None"},
		{"{{ 'yes' if n > 3 else 'no' }}{{ 'x' if false }}", "yes"},
		{"{{ n is number }}{{ s is string }}{{ obj is mapping }}{{ nope is defined }}{{ none is none }}{{ n is not string }}", "TrueTrueTrueFalseTrueTrue"},
		{"{{ obj.m.missing is defined }}{{ obj.get('z') }}{{ obj.get('q', 3) }}", "False13"},
		{"{{ [3, 1] | first }}{{ 'abc' | upper }}{{ ['a', 'b'] | join('-') }}{{ nope | default('d') }}", "3ABCa-bd"},
		{"{% if n == 7.0 and not (n < 0 or false) %}eq{% elif true %}no{% else %}no{% endif %}", "eq"},
		{"{{ ('a', 'b')[1] }}{{ {'k': 'v'}['k'] }}{{ range(3) | list }}", "bv[0, 1, 2]"},
		{"{{ 1.0 }} {{ 1e20 | string }} {{ 0.1 + 0.2 }}", "1.0 1e+20 0.30000000000000004"},
	}
	for _, c := range cases {
		if got := render(t, c.src, vars); got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.src, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, src := range []string{
		"{% if x %}never closed",
		"{{ unclosed",
		"{% for x in %}{% endfor %}",
		"{% macro m() %}{% endmacro %}",
		"{% endif %}",
		"{{ 'x' | nosuchfilter }}",
		"{{ 1 + }}",
		"{{ 'unterminated }}",
	} {
		tmpl, err := Parse(src)
		if err == nil {
			_, err = tmpl.Render(map[string]Value{})
		}
		if err == nil {
			t.Errorf("%q: no error", src)
		}
	}
	tmpl, err := Parse("{{ raise_exception('bad role') }}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Render(nil); !errors.Is(err, ErrRaised) || !strings.Contains(err.Error(), "bad role") {
		t.Errorf("raise_exception: %v", err)
	}
	tmpl, _ = Parse("{% for x in n %}{% endfor %}")
	if _, err := tmpl.Render(map[string]Value{"n": int64(3)}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("iterating an int: %v", err)
	}
}
