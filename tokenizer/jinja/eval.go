package jinja

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Render executes the template with the given top-level variables.
// Values must be template values (see Value); use FromJSON for JSON data.
func (t *Template) Render(vars map[string]Value) (string, error) {
	r := &renderer{scopes: []map[string]Value{builtins(), vars, {}}}
	var b strings.Builder
	if err := r.exec(&b, t.body); err != nil {
		return "", err
	}
	return b.String(), nil
}

// ErrRaised wraps the message of a template's raise_exception(...) call.
var ErrRaised = errors.New("template raised an exception")

type renderer struct {
	scopes []map[string]Value // innermost last
}

func (r *renderer) lookup(name string) Value {
	for i := len(r.scopes) - 1; i >= 0; i-- {
		if v, ok := r.scopes[i][name]; ok {
			return v
		}
	}
	return Undefined{}
}

func (r *renderer) exec(b *strings.Builder, nodes []node) error {
	for _, n := range nodes {
		switch n := n.(type) {
		case *textNode:
			b.WriteString(n.s)
		case *outputNode:
			v, err := r.eval(n.e)
			if err != nil {
				return fmt.Errorf("line %d: %w", n.line, err)
			}
			b.WriteString(toString(v))
		case *ifNode:
			done := false
			for i, c := range n.conds {
				v, err := r.eval(c)
				if err != nil {
					return fmt.Errorf("line %d: %w", n.line, err)
				}
				if truthy(v) {
					if err := r.exec(b, n.bodies[i]); err != nil {
						return err
					}
					done = true
					break
				}
			}
			if !done && len(n.bodies) > len(n.conds) {
				if err := r.exec(b, n.bodies[len(n.conds)]); err != nil {
					return err
				}
			}
		case *forNode:
			if err := r.execFor(b, n); err != nil {
				return err
			}
		case *setNode:
			v, err := r.eval(n.value)
			if err != nil {
				return fmt.Errorf("line %d: %w", n.line, err)
			}
			if n.attr == "" {
				r.scopes[len(r.scopes)-1][n.target] = v
				continue
			}
			ns, ok := r.lookup(n.target).(*namespace)
			if !ok {
				return fmt.Errorf("line %d: cannot set attribute %q of %s: not a namespace", n.line, n.attr, n.target)
			}
			ns.d.Set(n.attr, v)
		}
	}
	return nil
}

func (r *renderer) execFor(b *strings.Builder, n *forNode) error {
	it, err := r.eval(n.iter)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.line, err)
	}
	items, err := iterate(it)
	if err != nil {
		return fmt.Errorf("line %d: for: %w", n.line, err)
	}
	bind := func(scope map[string]Value, item Value) error {
		if len(n.targets) == 1 {
			scope[n.targets[0]] = item
			return nil
		}
		tuple, ok := item.([]Value)
		if !ok || len(tuple) != len(n.targets) {
			return fmt.Errorf("line %d: cannot unpack %s into %d loop variables", n.line, pyRepr(item), len(n.targets))
		}
		for i, name := range n.targets {
			scope[name] = tuple[i]
		}
		return nil
	}
	if n.filter != nil { // the loop filter runs before loop.* is computed
		var kept []Value
		for _, item := range items {
			scope := map[string]Value{}
			if err := bind(scope, item); err != nil {
				return err
			}
			r.scopes = append(r.scopes, scope)
			v, err := r.eval(n.filter)
			r.scopes = r.scopes[:len(r.scopes)-1]
			if err != nil {
				return fmt.Errorf("line %d: %w", n.line, err)
			}
			if truthy(v) {
				kept = append(kept, item)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return r.exec(b, n.orElse)
	}
	for i, item := range items {
		loop := NewDict()
		loop.Set("index", int64(i+1))
		loop.Set("index0", int64(i))
		loop.Set("revindex", int64(len(items)-i))
		loop.Set("revindex0", int64(len(items)-i-1))
		loop.Set("first", i == 0)
		loop.Set("last", i == len(items)-1)
		loop.Set("length", int64(len(items)))
		if i > 0 {
			loop.Set("previtem", items[i-1])
		}
		if i+1 < len(items) {
			loop.Set("nextitem", items[i+1])
		}
		scope := map[string]Value{"loop": loop}
		if err := bind(scope, item); err != nil {
			return err
		}
		r.scopes = append(r.scopes, scope)
		err := r.exec(b, n.body)
		r.scopes = r.scopes[:len(r.scopes)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// iterate lists the items a for loop visits: list items, dict keys, string characters.
func iterate(v Value) ([]Value, error) {
	switch x := v.(type) {
	case []Value:
		return x, nil
	case *Dict:
		out := make([]Value, len(x.keys))
		for i, k := range x.keys {
			out[i] = k
		}
		return out, nil
	case string:
		var out []Value
		for _, c := range x {
			out = append(out, string(c))
		}
		return out, nil
	case nil, Undefined:
		return nil, fmt.Errorf("%s is not iterable", pyRepr(v))
	}
	return nil, fmt.Errorf("%T is not iterable", v)
}

func (r *renderer) eval(e expr) (Value, error) {
	switch e := e.(type) {
	case *literal:
		return e.v, nil
	case *nameRef:
		return r.lookup(e.name), nil
	case *attrRef:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		return getAttr(obj, e.name), nil
	case *indexRef:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		idx, err := r.eval(e.idx)
		if err != nil {
			return nil, err
		}
		return getItem(obj, idx)
	case *sliceRef:
		return r.evalSlice(e)
	case *callExpr:
		fn, err := r.eval(e.fn)
		if err != nil {
			return nil, err
		}
		args, kwargs, err := r.evalArgs(e.args, e.kwargs)
		if err != nil {
			return nil, err
		}
		c, ok := fn.(callable)
		if !ok {
			return nil, fmt.Errorf("%s is not callable", describe(e.fn))
		}
		return c(args, kwargs)
	case *filterExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		args, kwargs, err := r.evalArgs(e.args, e.kwargs)
		if err != nil {
			return nil, err
		}
		return applyFilter(e.name, obj, args, kwargs)
	case *testExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		args, _, err := r.evalArgs(e.args, nil)
		if err != nil {
			return nil, err
		}
		ok, err := applyTest(e.name, obj, args)
		if err != nil {
			return nil, err
		}
		return ok != e.negate, nil
	case *unaryExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		if e.op == "not" {
			return !truthy(x), nil
		}
		switch n := x.(type) {
		case int64:
			return -n, nil
		case float64:
			return -n, nil
		}
		return nil, fmt.Errorf("bad operand for unary -: %s", pyRepr(x))
	case *binExpr:
		return r.evalBinary(e)
	case *condExpr:
		c, err := r.eval(e.cond)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(e.yes)
		}
		return r.eval(e.no)
	case *listExpr:
		out := make([]Value, len(e.items))
		for i, it := range e.items {
			v, err := r.eval(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *dictExpr:
		d := NewDict()
		for i := range e.keys {
			k, err := r.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("dict keys must be strings, got %s", pyRepr(k))
			}
			v, err := r.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			d.Set(ks, v)
		}
		return d, nil
	}
	return nil, fmt.Errorf("internal: unknown expression %T", e)
}

func describe(e expr) string {
	switch e := e.(type) {
	case *nameRef:
		return e.name
	case *attrRef:
		return describe(e.obj) + "." + e.name
	}
	return "expression"
}

func (r *renderer) evalArgs(args []expr, kws []kwarg) ([]Value, *Dict, error) {
	out := make([]Value, len(args))
	for i, a := range args {
		v, err := r.eval(a)
		if err != nil {
			return nil, nil, err
		}
		out[i] = v
	}
	kwargs := NewDict()
	for _, kw := range kws {
		v, err := r.eval(kw.v)
		if err != nil {
			return nil, nil, err
		}
		kwargs.Set(kw.name, v)
	}
	return out, kwargs, nil
}

func (r *renderer) evalBinary(e *binExpr) (Value, error) {
	l, err := r.eval(e.l)
	if err != nil {
		return nil, err
	}
	switch e.op { // short-circuit operators return an operand, as in Python
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return r.eval(e.r)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return r.eval(e.r)
	}
	rv, err := r.eval(e.r)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "==":
		return equal(l, rv), nil
	case "!=":
		return !equal(l, rv), nil
	case "<", ">", "<=", ">=":
		c, err := compare(l, rv)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	case "in":
		return contains(rv, l)
	case "~":
		return toString(l) + toString(rv), nil
	case "+":
		switch a := l.(type) {
		case string:
			if b, ok := rv.(string); ok {
				return a + b, nil
			}
		case []Value:
			if b, ok := rv.([]Value); ok {
				return append(append([]Value{}, a...), b...), nil
			}
		}
	}
	return arith(e.op, l, rv)
}

func arith(op string, l, r Value) (Value, error) {
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lb, ok := l.(bool); ok { // Python bools are ints
		li, lInt = b2i(lb), true
	}
	if rb, ok := r.(bool); ok {
		ri, rInt = b2i(rb), true
	}
	if lInt && rInt {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "//", "%":
			if ri == 0 {
				return nil, errors.New("integer division or modulo by zero")
			}
			q, m := li/ri, li%ri
			if m != 0 && (m < 0) != (ri < 0) { // floor semantics
				q--
				m += ri
			}
			if op == "//" {
				return q, nil
			}
			return m, nil
		case "**":
			if ri >= 0 {
				return int64(math.Pow(float64(li), float64(ri))), nil
			}
		}
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("unsupported operands for %s: %s and %s", op, pyRepr(l), pyRepr(r))
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, errors.New("division by zero")
		}
		return lf / rf, nil
	case "//":
		if rf == 0 {
			return nil, errors.New("division by zero")
		}
		return math.Floor(lf / rf), nil
	case "%":
		if rf == 0 {
			return nil, errors.New("modulo by zero")
		}
		m := math.Mod(lf, rf)
		if m != 0 && (m < 0) != (rf < 0) {
			m += rf
		}
		return m, nil
	case "**":
		return math.Pow(lf, rf), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func toFloat(v Value) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		return float64(b2i(x)), true
	}
	return 0, false
}

func equal(a, b Value) bool {
	if af, ok := toFloat(a); ok {
		bf, ok := toFloat(b)
		return ok && af == bf
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []Value:
		y, ok := b.([]Value)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			yv, ok := y.m[k]
			if !ok || !equal(x.m[k], yv) {
				return false
			}
		}
		return true
	}
	return a == b
}

func compare(a, b Value) (int, error) {
	if af, ok := toFloat(a); ok {
		if bf, ok := toFloat(b); ok {
			switch {
			case af < bf:
				return -1, nil
			case af > bf:
				return 1, nil
			}
			return 0, nil
		}
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.Compare(as, bs), nil
		}
	}
	return 0, fmt.Errorf("cannot compare %s and %s", pyRepr(a), pyRepr(b))
}

func contains(container, item Value) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires a string, not %s", pyRepr(item))
		}
		return strings.Contains(c, s), nil
	case []Value:
		for _, e := range c {
			if equal(e, item) {
				return true, nil
			}
		}
		return false, nil
	case *Dict:
		s, ok := item.(string)
		if !ok {
			return false, nil
		}
		_, has := c.m[s]
		return has, nil
	case *namespace:
		return contains(c.d, item)
	}
	return false, fmt.Errorf("argument of type %T is not iterable", container)
}

func (r *renderer) evalSlice(e *sliceRef) (Value, error) {
	obj, err := r.eval(e.obj)
	if err != nil {
		return nil, err
	}
	var n int
	switch x := obj.(type) {
	case []Value:
		n = len(x)
	case string:
		n = len([]rune(x))
	default:
		return nil, fmt.Errorf("cannot slice %s", pyRepr(obj))
	}
	get := func(ex expr, def int64) (int64, bool, error) {
		if ex == nil {
			return def, false, nil
		}
		v, err := r.eval(ex)
		if err != nil {
			return 0, false, err
		}
		if v == nil {
			return def, false, nil
		}
		i, ok := v.(int64)
		if !ok {
			return 0, false, fmt.Errorf("slice indices must be integers, got %s", pyRepr(v))
		}
		return i, true, nil
	}
	step, _, err := get(e.stp, 1)
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, errors.New("slice step cannot be zero")
	}
	start, hasStart, err := get(e.start, 0)
	if err != nil {
		return nil, err
	}
	stop, hasStop, err := get(e.stop, 0)
	if err != nil {
		return nil, err
	}
	// Python's slice.indices.
	ln := int64(n)
	norm := func(i int64, has bool, lo, hi, def int64) int64 {
		if !has {
			return def
		}
		if i < 0 {
			i += ln
			if i < lo {
				i = lo
			}
		} else if i > hi {
			i = hi
		}
		return i
	}
	var idx []int64
	if step > 0 {
		s, t := norm(start, hasStart, 0, ln, 0), norm(stop, hasStop, 0, ln, ln)
		for i := s; i < t; i += step {
			idx = append(idx, i)
		}
	} else {
		s, t := norm(start, hasStart, -1, ln-1, ln-1), norm(stop, hasStop, -1, ln-1, -1)
		for i := s; i > t; i += step {
			idx = append(idx, i)
		}
	}
	switch x := obj.(type) {
	case []Value:
		out := make([]Value, len(idx))
		for k, i := range idx {
			out[k] = x[i]
		}
		return out, nil
	default:
		rs := []rune(obj.(string))
		out := make([]rune, len(idx))
		for k, i := range idx {
			out[k] = rs[i]
		}
		return string(out), nil
	}
}

func getItem(obj, idx Value) (Value, error) {
	switch x := obj.(type) {
	case []Value:
		i, ok := idx.(int64)
		if !ok {
			return nil, fmt.Errorf("list indices must be integers, got %s", pyRepr(idx))
		}
		if i < 0 {
			i += int64(len(x))
		}
		if i < 0 || i >= int64(len(x)) {
			return Undefined{}, nil
		}
		return x[i], nil
	case string:
		i, ok := idx.(int64)
		if !ok {
			return nil, fmt.Errorf("string indices must be integers, got %s", pyRepr(idx))
		}
		rs := []rune(x)
		if i < 0 {
			i += int64(len(rs))
		}
		if i < 0 || i >= int64(len(rs)) {
			return Undefined{}, nil
		}
		return string(rs[i]), nil
	case *Dict:
		if s, ok := idx.(string); ok {
			if v, ok := x.m[s]; ok {
				return v, nil
			}
		}
		return Undefined{}, nil
	case *namespace:
		return getItem(x.d, idx)
	}
	return Undefined{}, nil
}
