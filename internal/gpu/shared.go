package gpu

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SharedArray is one shared-memory (threadgroup) array a kernel declares:
// ElemBytes per element times the product of Factors, each a
// specialization constant's name or a literal. The sizes are read from the
// kernel's MSL at load, where spirv-cross writes every workgroup array with
// its size expression, so they cannot drift from the code.
type SharedArray struct {
	Name      string
	ElemBytes int
	Factors   []string
}

// SharedBytes returns the shared memory the kernel needs when specialised
// with spec (values in the order of k.Spec).
func (k *Kernel) SharedBytes(spec []uint32) (int, error) {
	total := 0
	for _, a := range k.Shared {
		n := a.ElemBytes
		for _, f := range a.Factors {
			v, err := k.factor(f, spec)
			if err != nil {
				return 0, fmt.Errorf("kernel %s: shared array %s: %w", k.Name, a.Name, err)
			}
			n *= v
			if n > 1<<30 {
				return 0, fmt.Errorf("kernel %s: shared array %s exceeds 1 GiB", k.Name, a.Name)
			}
		}
		total += n
	}
	return total, nil
}

func (k *Kernel) factor(f string, spec []uint32) (int, error) {
	if v, err := strconv.Atoi(f); err == nil {
		return v, nil
	}
	if i := slices.Index(k.Spec, f); i >= 0 {
		if i >= len(spec) {
			return 0, fmt.Errorf("specialization constant %s not given", f)
		}
		return int(spec[i]), nil
	}
	return 0, fmt.Errorf("size factor %q is neither a literal nor a specialization constant", f)
}

var (
	mslThreadgroup = regexp.MustCompile(`(?m)^\s*threadgroup (float|uint|int) (\w+)\[([^\]]+)\];`)
	mslConstant    = regexp.MustCompile(`(?m)^constant uint (\w+) = \(?([^;()]+)\)?;`)
	mslLiteral     = regexp.MustCompile(`^(\d+)u?$`)
)

// parseShared reads the threadgroup arrays of a kernel's MSL, resolving
// the helper constants spirv-cross emits for size expressions
// ("constant uint _144 = (MAXD * LX);") down to spec names and literals.
func parseShared(msl string, spec []string) ([]SharedArray, error) {
	consts := map[string]string{}
	for _, m := range mslConstant.FindAllStringSubmatch(msl, -1) {
		consts[m[1]] = strings.TrimSpace(m[2])
	}
	var resolve func(expr string, depth int) ([]string, error)
	resolve = func(expr string, depth int) ([]string, error) {
		if depth > 8 {
			return nil, fmt.Errorf("size %q nests too deep", expr)
		}
		var out []string
		for _, f := range strings.Split(expr, "*") {
			f = strings.TrimSpace(f)
			switch m := mslLiteral.FindStringSubmatch(f); {
			case m != nil:
				out = append(out, m[1])
			case slices.Contains(spec, f):
				out = append(out, f)
			case consts[f] != "":
				sub, err := resolve(consts[f], depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, sub...)
			default:
				return nil, fmt.Errorf("cannot read shared array size %q (factor %q)", expr, f)
			}
		}
		return out, nil
	}
	var arrays []SharedArray
	for _, m := range mslThreadgroup.FindAllStringSubmatch(msl, -1) {
		factors, err := resolve(m[3], 0)
		if err != nil {
			return nil, fmt.Errorf("shared array %s: %w", m[2], err)
		}
		arrays = append(arrays, SharedArray{Name: m[2], ElemBytes: 4, Factors: factors})
	}
	return arrays, nil
}

// DescribeSpec names a specialization for error messages ("LX=64 MAXD=2").
func (k *Kernel) DescribeSpec(spec []uint32) string {
	parts := make([]string, len(spec))
	for i, v := range spec {
		name := "?"
		if i < len(k.Spec) {
			name = k.Spec[i]
		}
		parts[i] = fmt.Sprintf("%s=%d", name, v)
	}
	return strings.Join(parts, " ")
}
