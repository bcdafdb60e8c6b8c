package jinja

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// maxRange bounds range() so a template cannot allocate without limit.
const maxRange = 1 << 20

func builtins() map[string]Value {
	return map[string]Value{
		"namespace": callable(func(args []Value, kw *Dict) (Value, error) {
			d := NewDict()
			for _, a := range args {
				if ad, ok := a.(*Dict); ok {
					for _, k := range ad.keys {
						d.Set(k, ad.m[k])
					}
				}
			}
			for _, k := range kw.keys {
				d.Set(k, kw.m[k])
			}
			return &namespace{d}, nil
		}),
		"dict": callable(func(args []Value, kw *Dict) (Value, error) {
			d := NewDict()
			for _, k := range kw.keys {
				d.Set(k, kw.m[k])
			}
			return d, nil
		}),
		"range": callable(func(args []Value, _ *Dict) (Value, error) {
			var ints []int64
			for _, a := range args {
				i, ok := a.(int64)
				if !ok {
					return nil, fmt.Errorf("range() arguments must be integers, got %s", pyRepr(a))
				}
				ints = append(ints, i)
			}
			start, stop, step := int64(0), int64(0), int64(1)
			switch len(ints) {
			case 1:
				stop = ints[0]
			case 2:
				start, stop = ints[0], ints[1]
			case 3:
				start, stop, step = ints[0], ints[1], ints[2]
			default:
				return nil, fmt.Errorf("range() takes 1 to 3 arguments, got %d", len(ints))
			}
			if step == 0 {
				return nil, fmt.Errorf("range() step must not be zero")
			}
			var out []Value
			for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
				if len(out) >= maxRange {
					return nil, fmt.Errorf("range() longer than %d", maxRange)
				}
				out = append(out, i)
			}
			return out, nil
		}),
		"raise_exception": callable(func(args []Value, _ *Dict) (Value, error) {
			msg := ""
			if len(args) > 0 {
				msg = toString(args[0])
			}
			return nil, fmt.Errorf("%w: %s", ErrRaised, msg)
		}),
	}
}

// getAttr is Jinja's obj.name: dict keys and namespace attributes, then the
// methods of strings and dicts; anything else is undefined.
func getAttr(obj Value, name string) Value {
	switch x := obj.(type) {
	case *Dict:
		if v, ok := x.m[name]; ok {
			return v
		}
		return dictMethod(x, name)
	case *namespace:
		if v, ok := x.d.m[name]; ok {
			return v
		}
	case string:
		return stringMethod(x, name)
	case []Value:
		if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(x) {
			return x[i]
		}
	}
	return Undefined{}
}

func dictMethod(d *Dict, name string) Value {
	switch name {
	case "items":
		return callable(func([]Value, *Dict) (Value, error) {
			out := make([]Value, len(d.keys))
			for i, k := range d.keys {
				out[i] = []Value{k, d.m[k]}
			}
			return out, nil
		})
	case "keys":
		return callable(func([]Value, *Dict) (Value, error) {
			out := make([]Value, len(d.keys))
			for i, k := range d.keys {
				out[i] = k
			}
			return out, nil
		})
	case "values":
		return callable(func([]Value, *Dict) (Value, error) {
			out := make([]Value, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.m[k]
			}
			return out, nil
		})
	case "get":
		return callable(func(args []Value, _ *Dict) (Value, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("get() needs a key")
			}
			if k, ok := args[0].(string); ok {
				if v, ok := d.m[k]; ok {
					return v, nil
				}
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		})
	}
	return Undefined{}
}

func strArg(args []Value, i int, def string) (string, bool, error) {
	if i >= len(args) || args[i] == nil {
		return def, false, nil
	}
	s, ok := args[i].(string)
	if !ok {
		return "", false, fmt.Errorf("expected a string argument, got %s", pyRepr(args[i]))
	}
	return s, true, nil
}

func stringMethod(s, name string) Value {
	strip := func(trim func(string, string) string, trimSpace func(string) string) callable {
		return func(args []Value, _ *Dict) (Value, error) {
			chars, has, err := strArg(args, 0, "")
			if err != nil {
				return nil, err
			}
			if !has {
				return trimSpace(s), nil
			}
			return trim(s, chars), nil
		}
	}
	switch name {
	case "strip":
		return strip(strings.Trim, strings.TrimSpace)
	case "lstrip":
		return strip(strings.TrimLeft, func(x string) string { return strings.TrimLeftFunc(x, unicode.IsSpace) })
	case "rstrip":
		return strip(strings.TrimRight, func(x string) string { return strings.TrimRightFunc(x, unicode.IsSpace) })
	case "startswith", "endswith":
		return callable(func(args []Value, _ *Dict) (Value, error) {
			var prefixes []Value
			if l, ok := firstArg(args).([]Value); ok {
				prefixes = l
			} else {
				prefixes = args[:min(1, len(args))]
			}
			for _, p := range prefixes {
				ps, ok := p.(string)
				if !ok {
					return nil, fmt.Errorf("%s() needs a string, got %s", name, pyRepr(p))
				}
				if (name == "startswith" && strings.HasPrefix(s, ps)) || (name == "endswith" && strings.HasSuffix(s, ps)) {
					return true, nil
				}
			}
			return false, nil
		})
	case "split":
		return callable(func(args []Value, _ *Dict) (Value, error) {
			sep, has, err := strArg(args, 0, "")
			if err != nil {
				return nil, err
			}
			maxSplit := int64(-1)
			if len(args) > 1 {
				if m, ok := args[1].(int64); ok {
					maxSplit = m
				}
			}
			var parts []string
			switch {
			case !has:
				parts = strings.Fields(s)
			case sep == "":
				return nil, fmt.Errorf("split(): empty separator")
			case maxSplit >= 0:
				parts = strings.SplitN(s, sep, int(maxSplit)+1)
			default:
				parts = strings.Split(s, sep)
			}
			out := make([]Value, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		})
	case "upper":
		return callable(func([]Value, *Dict) (Value, error) { return strings.ToUpper(s), nil })
	case "lower":
		return callable(func([]Value, *Dict) (Value, error) { return strings.ToLower(s), nil })
	case "title":
		return callable(func([]Value, *Dict) (Value, error) { return titleCase(s), nil })
	case "capitalize":
		return callable(func([]Value, *Dict) (Value, error) { return capitalize(s), nil })
	case "replace":
		return callable(func(args []Value, _ *Dict) (Value, error) {
			old, _, err := strArg(args, 0, "")
			if err != nil {
				return nil, err
			}
			nw, _, err := strArg(args, 1, "")
			if err != nil {
				return nil, err
			}
			return strings.ReplaceAll(s, old, nw), nil
		})
	case "find":
		return callable(func(args []Value, _ *Dict) (Value, error) {
			sub, _, err := strArg(args, 0, "")
			if err != nil {
				return nil, err
			}
			i := strings.Index(s, sub)
			if i < 0 {
				return int64(-1), nil
			}
			return int64(len([]rune(s[:i]))), nil
		})
	case "count":
		return callable(func(args []Value, _ *Dict) (Value, error) {
			sub, _, err := strArg(args, 0, "")
			if err != nil {
				return nil, err
			}
			return int64(strings.Count(s, sub)), nil
		})
	case "join":
		return callable(func(args []Value, _ *Dict) (Value, error) {
			items, err := iterate(firstArg(args))
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				parts[i] = toString(it)
			}
			return strings.Join(parts, s), nil
		})
	}
	return Undefined{}
}

func firstArg(args []Value) Value {
	if len(args) == 0 {
		return Undefined{}
	}
	return args[0]
}

func capitalize(s string) string {
	rs := []rune(strings.ToLower(s))
	if len(rs) > 0 {
		rs[0] = unicode.ToUpper(rs[0])
	}
	return string(rs)
}

func titleCase(s string) string {
	rs := []rune(s)
	prevLetter := false
	for i, r := range rs {
		if prevLetter {
			rs[i] = unicode.ToLower(r)
		} else {
			rs[i] = unicode.ToUpper(r)
		}
		prevLetter = unicode.IsLetter(r)
	}
	return string(rs)
}

func length(v Value) (int64, error) {
	switch x := v.(type) {
	case string:
		return int64(len([]rune(x))), nil
	case []Value:
		return int64(len(x)), nil
	case *Dict:
		return int64(x.Len()), nil
	case Undefined:
		return 0, nil
	}
	return 0, fmt.Errorf("object of type %s has no length", pyRepr(v))
}

func applyFilter(name string, v Value, args []Value, kw *Dict) (Value, error) {
	switch name {
	case "tojson":
		indent := -1
		if iv, ok := kw.m["indent"]; ok {
			if i, ok := iv.(int64); ok {
				indent = int(i)
			}
		} else if len(args) > 0 {
			if i, ok := args[0].(int64); ok {
				indent = int(i)
			}
		}
		sortKeys := truthy(kw.m["sort_keys"])
		return toJSON(v, indent, sortKeys)
	case "length", "count":
		return length(v)
	case "string":
		return toString(v), nil
	case "trim":
		return strings.TrimSpace(toString(v)), nil
	case "upper":
		return strings.ToUpper(toString(v)), nil
	case "lower":
		return strings.ToLower(toString(v)), nil
	case "capitalize":
		return capitalize(toString(v)), nil
	case "title":
		return titleCase(toString(v)), nil
	case "safe", "e", "escape":
		// Autoescape is off in apply_chat_template, so these change nothing.
		return v, nil
	case "default", "d":
		def := Value("")
		if len(args) > 0 {
			def = args[0]
		}
		_, undef := v.(Undefined)
		if undef || (len(args) > 1 && truthy(args[1]) && !truthy(v)) {
			return def, nil
		}
		return v, nil
	case "first", "last":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return Undefined{}, nil
		}
		if name == "first" {
			return items[0], nil
		}
		return items[len(items)-1], nil
	case "list":
		items, err := iterate(v)
		return append([]Value{}, items...), err
	case "reverse":
		if s, ok := v.(string); ok {
			rs := []rune(s)
			for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
				rs[i], rs[j] = rs[j], rs[i]
			}
			return string(rs), nil
		}
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		out := make([]Value, len(items))
		for i, it := range items {
			out[len(items)-1-i] = it
		}
		return out, nil
	case "join":
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		sep := ""
		if len(args) > 0 {
			sep = toString(args[0])
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = toString(it)
		}
		return strings.Join(parts, sep), nil
	case "items":
		d, ok := v.(*Dict)
		if !ok {
			return nil, fmt.Errorf("items filter needs a mapping, got %s", pyRepr(v))
		}
		return dictMethod(d, "items").(callable)(nil, nil)
	case "dictsort":
		d, ok := v.(*Dict)
		if !ok {
			return nil, fmt.Errorf("dictsort needs a mapping, got %s", pyRepr(v))
		}
		keys := append([]string(nil), d.keys...)
		sort.Strings(keys)
		out := make([]Value, len(keys))
		for i, k := range keys {
			out[i] = []Value{k, d.m[k]}
		}
		return out, nil
	case "replace":
		if len(args) < 2 {
			return nil, fmt.Errorf("replace filter needs 2 arguments")
		}
		return strings.ReplaceAll(toString(v), toString(args[0]), toString(args[1])), nil
	case "int":
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, nil
			}
		}
		return int64(0), nil
	case "abs":
		switch x := v.(type) {
		case int64:
			return max(x, -x), nil
		case float64:
			return max(x, -x), nil
		}
		return nil, fmt.Errorf("abs needs a number, got %s", pyRepr(v))
	}
	return nil, fmt.Errorf("unsupported filter %q", name)
}

func applyTest(name string, v Value, args []Value) (bool, error) {
	switch name {
	case "defined":
		_, u := v.(Undefined)
		return !u, nil
	case "undefined":
		_, u := v.(Undefined)
		return u, nil
	case "none":
		return v == nil, nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "number":
		switch v.(type) {
		case int64, float64:
			return true, nil
		}
		return false, nil
	case "integer":
		_, ok := v.(int64)
		return ok, nil
	case "float":
		_, ok := v.(float64)
		return ok, nil
	case "boolean":
		_, ok := v.(bool)
		return ok, nil
	case "true":
		b, ok := v.(bool)
		return ok && b, nil
	case "false":
		b, ok := v.(bool)
		return ok && !b, nil
	case "mapping":
		_, ok := v.(*Dict)
		return ok, nil
	case "sequence":
		switch v.(type) {
		case []Value, string, *Dict:
			return true, nil
		}
		return false, nil
	case "iterable":
		switch v.(type) {
		case []Value, string, *Dict:
			return true, nil
		}
		return false, nil
	case "callable":
		_, ok := v.(callable)
		return ok, nil
	case "odd", "even":
		i, ok := v.(int64)
		if !ok {
			return false, fmt.Errorf("%s test needs an integer, got %s", name, pyRepr(v))
		}
		return (i%2 != 0) == (name == "odd"), nil
	case "eq", "equalto", "==":
		if len(args) != 1 {
			return false, fmt.Errorf("%s test needs one argument", name)
		}
		return equal(v, args[0]), nil
	case "ne", "!=":
		if len(args) != 1 {
			return false, fmt.Errorf("%s test needs one argument", name)
		}
		return !equal(v, args[0]), nil
	case "in":
		if len(args) != 1 {
			return false, fmt.Errorf("in test needs one argument")
		}
		return contains(args[0], v)
	}
	return false, fmt.Errorf("unsupported test %q", name)
}
