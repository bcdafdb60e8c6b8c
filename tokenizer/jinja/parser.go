package jinja

import (
	"fmt"
	"strconv"
	"strings"
)

// Statement nodes.
type node interface{}

type textNode struct{ s string }
type outputNode struct {
	e    expr
	line int
}
type ifNode struct {
	conds  []expr
	bodies [][]node // len(bodies) == len(conds) or len(conds)+1 (else)
	line   int
}
type forNode struct {
	targets []string
	iter    expr
	filter  expr // optional "if" condition
	body    []node
	orElse  []node
	line    int
}
type setNode struct {
	target string
	attr   string // for ns.attr = ...
	value  expr
	line   int
}

// Expression nodes.
type expr interface{}

type literal struct{ v Value }
type nameRef struct{ name string }
type attrRef struct {
	obj  expr
	name string
}
type indexRef struct {
	obj expr
	idx expr
}
type sliceRef struct {
	obj              expr
	start, stop, stp expr // nil when omitted
}
type callExpr struct {
	fn     expr
	args   []expr
	kwargs []kwarg
}
type kwarg struct {
	name string
	v    expr
}
type filterExpr struct {
	obj    expr
	name   string
	args   []expr
	kwargs []kwarg
}
type testExpr struct {
	obj    expr
	name   string
	args   []expr
	negate bool
}
type binExpr struct {
	op   string
	l, r expr
}
type unaryExpr struct {
	op string
	x  expr
}
type condExpr struct{ cond, yes, no expr }
type listExpr struct{ items []expr }
type dictExpr struct{ keys, vals []expr }

// Template is a parsed template; it is immutable and safe for concurrent use.
type Template struct {
	body []node
}

// Parse compiles Jinja source.
func Parse(src string) (*Template, error) {
	segs, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &stmtParser{segs: segs}
	body, end, err := p.parseBlock()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, fmt.Errorf("line %d: unexpected {%% %s %%}", p.lastLine, end)
	}
	return &Template{body: body}, nil
}

type stmtParser struct {
	segs     []segment
	pos      int
	lastLine int
	// pending holds the tokens of the statement that ended the last block.
	endToks *exprParser
}

// parseBlock parses nodes until a block-ending tag (elif, else, endif, endfor)
// or the end; it returns the ending tag's keyword ("" at the end) and leaves
// the rest of that tag in p.endToks.
func (p *stmtParser) parseBlock() ([]node, string, error) {
	var out []node
	for p.pos < len(p.segs) {
		s := p.segs[p.pos]
		p.pos++
		p.lastLine = s.line
		switch s.kind {
		case segText:
			out = append(out, &textNode{s.text})
		case segExpr:
			ep, err := newExprParser(s.text, s.line)
			if err != nil {
				return nil, "", err
			}
			e, err := ep.parseExpr()
			if err != nil {
				return nil, "", err
			}
			if err := ep.expectEOF(); err != nil {
				return nil, "", err
			}
			out = append(out, &outputNode{e, s.line})
		case segStmt:
			ep, err := newExprParser(s.text, s.line)
			if err != nil {
				return nil, "", err
			}
			kw := ep.next()
			if kw.kind != tkName {
				return nil, "", fmt.Errorf("line %d: expected a tag name in {%%%s%%}", s.line, s.text)
			}
			switch kw.s {
			case "elif", "else", "endif", "endfor":
				p.endToks = ep
				return out, kw.s, nil
			case "if":
				n, err := p.parseIf(ep, s.line)
				if err != nil {
					return nil, "", err
				}
				out = append(out, n)
			case "for":
				n, err := p.parseFor(ep, s.line)
				if err != nil {
					return nil, "", err
				}
				out = append(out, n)
			case "set":
				n, err := parseSet(ep, s.line)
				if err != nil {
					return nil, "", err
				}
				out = append(out, n)
			default:
				return nil, "", fmt.Errorf("line %d: unsupported tag {%% %s %%}", s.line, kw.s)
			}
		}
	}
	return out, "", nil
}

func (p *stmtParser) parseIf(ep *exprParser, line int) (node, error) {
	n := &ifNode{line: line}
	cond, err := ep.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := ep.expectEOF(); err != nil {
		return nil, err
	}
	n.conds = append(n.conds, cond)
	for {
		body, end, err := p.parseBlock()
		if err != nil {
			return nil, err
		}
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			c, err := p.endToks.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := p.endToks.expectEOF(); err != nil {
				return nil, err
			}
			n.conds = append(n.conds, c)
		case "else":
			body, end, err := p.parseBlock()
			if err != nil {
				return nil, err
			}
			if end != "endif" {
				return nil, fmt.Errorf("line %d: {%% if %%} else branch ends with %q, want endif", line, end)
			}
			n.bodies = append(n.bodies, body)
			return n, nil
		case "endif":
			return n, nil
		default:
			return nil, fmt.Errorf("line %d: {%% if %%} is not closed (got %q)", line, end)
		}
	}
}

func (p *stmtParser) parseFor(ep *exprParser, line int) (node, error) {
	n := &forNode{line: line}
	for {
		t := ep.next()
		if t.kind != tkName {
			return nil, fmt.Errorf("line %d: for: expected a loop variable", line)
		}
		n.targets = append(n.targets, t.s)
		if !ep.acceptOp(",") {
			break
		}
	}
	if t := ep.next(); t.kind != tkName || t.s != "in" {
		return nil, fmt.Errorf("line %d: for: expected 'in'", line)
	}
	var err error
	// The iterable may not contain a bare conditional expression: "if" starts the loop filter.
	if n.iter, err = ep.parseOr(); err != nil {
		return nil, err
	}
	if ep.acceptName("if") {
		if n.filter, err = ep.parseOr(); err != nil {
			return nil, err
		}
	}
	if err := ep.expectEOF(); err != nil {
		return nil, err
	}
	body, end, err := p.parseBlock()
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if n.orElse, end, err = p.parseBlock(); err != nil {
			return nil, err
		}
	}
	if end != "endfor" {
		return nil, fmt.Errorf("line %d: {%% for %%} is not closed (got %q)", line, end)
	}
	return n, nil
}

func parseSet(ep *exprParser, line int) (node, error) {
	t := ep.next()
	if t.kind != tkName {
		return nil, fmt.Errorf("line %d: set: expected a variable name", line)
	}
	n := &setNode{target: t.s, line: line}
	if ep.acceptOp(".") {
		a := ep.next()
		if a.kind != tkName {
			return nil, fmt.Errorf("line %d: set: expected an attribute name", line)
		}
		n.attr = a.s
	}
	if !ep.acceptOp("=") {
		return nil, fmt.Errorf("line %d: unsupported set form (block set is not implemented)", line)
	}
	v, err := ep.parseExpr()
	if err != nil {
		return nil, err
	}
	n.value = v
	return n, ep.expectEOF()
}

// exprParser is a recursive-descent parser over one tag's tokens, with
// Jinja's precedence: conditional < or < and < not < comparison/in/is <
// + - < ~ < * / // % < ** < unary - < postfix (. [] () |filter).
type exprParser struct {
	toks []token
	pos  int
	line int
}

func newExprParser(src string, line int) (*exprParser, error) {
	toks, err := tokenize(src, line)
	if err != nil {
		return nil, err
	}
	return &exprParser{toks: toks, line: line}, nil
}

func (p *exprParser) peek() token { return p.toks[p.pos] }
func (p *exprParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tkEOF {
		p.pos++
	}
	return t
}
func (p *exprParser) acceptOp(op string) bool {
	if t := p.peek(); t.kind == tkOp && t.s == op {
		p.pos++
		return true
	}
	return false
}
func (p *exprParser) acceptName(n string) bool {
	if t := p.peek(); t.kind == tkName && t.s == n {
		p.pos++
		return true
	}
	return false
}
func (p *exprParser) expectOp(op string) error {
	if !p.acceptOp(op) {
		return p.errf("expected %q, found %q", op, p.peek().s)
	}
	return nil
}
func (p *exprParser) expectEOF() error {
	if t := p.peek(); t.kind != tkEOF {
		return p.errf("unexpected %q", t.s)
	}
	return nil
}
func (p *exprParser) errf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", p.line, fmt.Sprintf(format, args...))
}

func (p *exprParser) parseExpr() (expr, error) {
	yes, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.acceptName("if") {
		return yes, nil
	}
	cond, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	var no expr = &literal{Undefined{}}
	if p.acceptName("else") {
		if no, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	return &condExpr{cond, yes, no}, nil
}

func (p *exprParser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	for err == nil && p.acceptName("or") {
		var r expr
		if r, err = p.parseAnd(); err == nil {
			l = &binExpr{"or", l, r}
		}
	}
	return l, err
}

func (p *exprParser) parseAnd() (expr, error) {
	l, err := p.parseNot()
	for err == nil && p.acceptName("and") {
		var r expr
		if r, err = p.parseNot(); err == nil {
			l = &binExpr{"and", l, r}
		}
	}
	return l, err
}

func (p *exprParser) parseNot() (expr, error) {
	if p.acceptName("not") {
		x, err := p.parseNot()
		return &unaryExpr{"not", x}, err
	}
	return p.parseCompare()
}

func (p *exprParser) parseCompare() (expr, error) {
	l, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tkOp && (t.s == "==" || t.s == "!=" || t.s == "<" || t.s == ">" || t.s == "<=" || t.s == ">="):
			p.pos++
			r, err := p.parseAdd()
			if err != nil {
				return nil, err
			}
			l = &binExpr{t.s, l, r}
		case t.kind == tkName && t.s == "in":
			p.pos++
			r, err := p.parseAdd()
			if err != nil {
				return nil, err
			}
			l = &binExpr{"in", l, r}
		case t.kind == tkName && t.s == "not" && p.toks[p.pos+1].kind == tkName && p.toks[p.pos+1].s == "in":
			p.pos += 2
			r, err := p.parseAdd()
			if err != nil {
				return nil, err
			}
			l = &unaryExpr{"not", &binExpr{"in", l, r}}
		default:
			return l, nil
		}
	}
}

func (p *exprParser) parseAdd() (expr, error) {
	l, err := p.parseConcat()
	for err == nil {
		t := p.peek()
		if t.kind != tkOp || (t.s != "+" && t.s != "-") {
			break
		}
		p.pos++
		var r expr
		if r, err = p.parseConcat(); err == nil {
			l = &binExpr{t.s, l, r}
		}
	}
	return l, err
}

func (p *exprParser) parseConcat() (expr, error) {
	l, err := p.parseMul()
	for err == nil && p.acceptOp("~") {
		var r expr
		if r, err = p.parseMul(); err == nil {
			l = &binExpr{"~", l, r}
		}
	}
	return l, err
}

func (p *exprParser) parseMul() (expr, error) {
	l, err := p.parsePow()
	for err == nil {
		t := p.peek()
		if t.kind != tkOp || (t.s != "*" && t.s != "/" && t.s != "//" && t.s != "%") {
			break
		}
		p.pos++
		var r expr
		if r, err = p.parsePow(); err == nil {
			l = &binExpr{t.s, l, r}
		}
	}
	return l, err
}

func (p *exprParser) parsePow() (expr, error) {
	l, err := p.parseUnary()
	for err == nil && p.acceptOp("**") {
		var r expr
		if r, err = p.parseUnary(); err == nil {
			l = &binExpr{"**", l, r}
		}
	}
	return l, err
}

func (p *exprParser) parseUnary() (expr, error) {
	if p.acceptOp("-") {
		x, err := p.parseUnary()
		return &unaryExpr{"-", x}, err
	}
	if p.acceptOp("+") {
		return p.parseUnary()
	}
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	return p.parsePostfix(x)
}

func (p *exprParser) parsePostfix(x expr) (expr, error) {
	for {
		switch {
		case p.acceptOp("."):
			t := p.next()
			if t.kind != tkName && t.kind != tkInt {
				return nil, p.errf("expected an attribute name after '.'")
			}
			x = &attrRef{x, t.s}
		case p.acceptOp("["):
			e, err := p.parseSubscript(x)
			if err != nil {
				return nil, err
			}
			x = e
		case p.acceptOp("("):
			args, kwargs, err := p.parseArgs()
			if err != nil {
				return nil, err
			}
			x = &callExpr{x, args, kwargs}
		case p.acceptOp("|"):
			t := p.next()
			if t.kind != tkName {
				return nil, p.errf("expected a filter name after '|'")
			}
			f := &filterExpr{obj: x, name: t.s}
			if p.acceptOp("(") {
				var err error
				if f.args, f.kwargs, err = p.parseArgs(); err != nil {
					return nil, err
				}
			}
			x = f
		case p.peek().kind == tkName && p.peek().s == "is":
			p.pos++
			te := &testExpr{obj: x}
			te.negate = p.acceptName("not")
			t := p.next()
			if t.kind != tkName {
				return nil, p.errf("expected a test name after 'is'")
			}
			te.name = t.s
			if p.acceptOp("(") {
				args, _, err := p.parseArgs()
				if err != nil {
					return nil, err
				}
				te.args = args
			} else if nt := p.peek(); nt.kind == tkString || nt.kind == tkInt || nt.kind == tkFloat {
				// "x is divisibleby 3", "x is eq 'a'": one bare argument.
				a, err := p.parsePrimary()
				if err != nil {
					return nil, err
				}
				te.args = []expr{a}
			}
			x = te
		default:
			return x, nil
		}
	}
}

func (p *exprParser) parseSubscript(obj expr) (expr, error) {
	var parts [3]expr
	n := 0
	isSlice := false
	for {
		if t := p.peek(); !(t.kind == tkOp && (t.s == ":" || t.s == "]")) {
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			parts[n] = e
		}
		if p.acceptOp(":") {
			isSlice = true
			n++
			if n > 2 {
				return nil, p.errf("too many ':' in slice")
			}
			continue
		}
		if err := p.expectOp("]"); err != nil {
			return nil, err
		}
		break
	}
	if !isSlice {
		return &indexRef{obj, parts[0]}, nil
	}
	return &sliceRef{obj, parts[0], parts[1], parts[2]}, nil
}

func (p *exprParser) parseArgs() ([]expr, []kwarg, error) {
	var args []expr
	var kwargs []kwarg
	for !p.acceptOp(")") {
		if len(args)+len(kwargs) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, nil, err
			}
			if p.acceptOp(")") {
				break
			}
		}
		if t := p.peek(); t.kind == tkName && p.toks[p.pos+1].kind == tkOp && p.toks[p.pos+1].s == "=" {
			p.pos += 2
			v, err := p.parseExpr()
			if err != nil {
				return nil, nil, err
			}
			kwargs = append(kwargs, kwarg{t.s, v})
			continue
		}
		v, err := p.parseExpr()
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	return args, kwargs, nil
}

func (p *exprParser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tkString:
		s := t.s
		for p.peek().kind == tkString { // adjacent literals concatenate
			s += p.next().s
		}
		return &literal{s}, nil
	case tkInt:
		v, err := strconv.ParseInt(t.s, 10, 64)
		if err != nil {
			return nil, p.errf("bad integer %q", t.s)
		}
		return &literal{v}, nil
	case tkFloat:
		v, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, p.errf("bad number %q", t.s)
		}
		return &literal{v}, nil
	case tkName:
		switch t.s {
		case "true", "True":
			return &literal{true}, nil
		case "false", "False":
			return &literal{false}, nil
		case "none", "None":
			return &literal{nil}, nil
		}
		return &nameRef{t.s}, nil
	case tkOp:
		switch t.s {
		case "(":
			if p.acceptOp(")") {
				return &listExpr{}, nil // empty tuple
			}
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if p.acceptOp(",") { // tuple: treated as a list
				items := []expr{e}
				for !p.acceptOp(")") {
					it, err := p.parseExpr()
					if err != nil {
						return nil, err
					}
					items = append(items, it)
					if !p.acceptOp(",") {
						if err := p.expectOp(")"); err != nil {
							return nil, err
						}
						break
					}
				}
				return &listExpr{items}, nil
			}
			return e, p.expectOp(")")
		case "[":
			l := &listExpr{}
			for !p.acceptOp("]") {
				if len(l.items) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.acceptOp("]") {
						break
					}
				}
				it, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, it)
			}
			return l, nil
		case "{":
			d := &dictExpr{}
			for !p.acceptOp("}") {
				if len(d.keys) > 0 {
					if err := p.expectOp(","); err != nil {
						return nil, err
					}
					if p.acceptOp("}") {
						break
					}
				}
				k, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				d.keys, d.vals = append(d.keys, k), append(d.vals, v)
			}
			return d, nil
		}
	}
	if t.kind == tkEOF {
		return nil, p.errf("unexpected end of expression")
	}
	return nil, p.errf("unexpected %q", strings.TrimSpace(t.s))
}
