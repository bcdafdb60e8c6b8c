package mslbind

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MSLKernel is one kernel function of an MSL source as spirv-cross writes
// it: its buffer arguments and what the source around it declares.
type MSLKernel struct {
	Name    string
	Buffers []MSLBuffer
	// FunctionConstants maps a [[function_constant(n)]] index to its MSL
	// type ("uint", "int", "float", "bool"), for the whole source.
	FunctionConstants map[int]string
	// Macros lists the n of every SPIRV_CROSS_CONSTANT_ID_n the source
	// reads: specialization constants fixed when the MSL is compiled.
	Macros []int
	// Threadgroup lists the kernel's threadgroup arrays; ThreadgroupBytes
	// is their total when every size is known, else -1.
	Threadgroup      []ThreadgroupArray
	ThreadgroupBytes int
}

// MSLBuffer is one [[buffer(n)]] argument.
type MSLBuffer struct {
	Index int
	Space string // "device" or "constant"
	Const bool   // const device: read only
	Type  string // the pointee type ("_46", "P", "uint")
	Var   string // the argument's name ("_48", "pc", "spvBufferSizeConstants")
}

// ThreadgroupArray is one `threadgroup T name[d0][d1]…;` declaration.
type ThreadgroupArray struct {
	Type  string
	Name  string
	Dims  []string
	Bytes int // -1 when a dimension or the type's size is not known
}

// BufferSizeVar is the argument spirv-cross adds when a kernel reads the
// length of a runtime array: a constant uint array, indexed by
// [[buffer(n)]] index, of the bound buffers' sizes in bytes.
const BufferSizeVar = "spvBufferSizeConstants"

var (
	kernelRE   = regexp.MustCompile(`\bkernel\s+void\s+(\w+)\s*\(`)
	bufferRE   = regexp.MustCompile(`^(const\s+)?(device|constant)\s+(const\s+)?(.+?)\s*([&*])\s*(\w+)\s*\[\[\s*buffer\((\d+)\)\s*\]\]$`)
	funcConsRE = regexp.MustCompile(`\bconstant\s+(\w+)\s+\w+\s*\[\[\s*function_constant\((\d+)\)\s*\]\]`)
	macroRE    = regexp.MustCompile(`#ifndef SPIRV_CROSS_CONSTANT_ID_(\d+)\b`)
	tgRE       = regexp.MustCompile(`(?m)^\s*threadgroup\s+([\w:<>, ]+?)\s+(\w+)((?:\s*\[[^\]]+\])+)\s*;`)
	dimRE      = regexp.MustCompile(`\[([^\]]+)\]`)
)

// ParseMSL lists the kernel functions of an MSL source.
func ParseMSL(src string) ([]MSLKernel, error) {
	fcs := map[int]string{}
	for _, m := range funcConsRE.FindAllStringSubmatch(src, -1) {
		n, _ := strconv.Atoi(m[2])
		fcs[n] = m[1]
	}
	var macros []int
	for _, m := range macroRE.FindAllStringSubmatch(src, -1) {
		n, _ := strconv.Atoi(m[1])
		macros = append(macros, n)
	}
	var out []MSLKernel
	locs := kernelRE.FindAllStringSubmatchIndex(src, -1)
	for _, loc := range locs {
		k := MSLKernel{Name: src[loc[2]:loc[3]], FunctionConstants: fcs, Macros: macros}
		end, err := closing(src, loc[1]-1, '(', ')')
		if err != nil {
			return nil, fmt.Errorf("msl: kernel %s: %w", k.Name, err)
		}
		for _, p := range splitParams(src[loc[1]:end]) {
			if !strings.Contains(p, "[[buffer(") {
				continue
			}
			m := bufferRE.FindStringSubmatch(p)
			if m == nil {
				return nil, fmt.Errorf("msl: kernel %s: cannot read the buffer argument %q", k.Name, p)
			}
			idx, _ := strconv.Atoi(m[7])
			k.Buffers = append(k.Buffers, MSLBuffer{
				Index: idx, Space: m[2], Const: m[1] != "" || m[3] != "", Type: strings.TrimSpace(m[4]), Var: m[6],
			})
		}
		open := strings.IndexByte(src[end:], '{')
		if open < 0 {
			return nil, fmt.Errorf("msl: kernel %s has no body", k.Name)
		}
		bodyEnd, err := closing(src, end+open, '{', '}')
		if err != nil {
			return nil, fmt.Errorf("msl: kernel %s: %w", k.Name, err)
		}
		k.ThreadgroupBytes = 0
		for _, m := range tgRE.FindAllStringSubmatch(src[end+open:bodyEnd], -1) {
			a := ThreadgroupArray{Type: strings.TrimSpace(m[1]), Name: m[2]}
			for _, d := range dimRE.FindAllStringSubmatch(m[3], -1) {
				a.Dims = append(a.Dims, strings.TrimSpace(d[1]))
			}
			a.Bytes = arrayBytes(a.Type, a.Dims)
			if a.Bytes < 0 || k.ThreadgroupBytes < 0 {
				k.ThreadgroupBytes = -1
			} else {
				k.ThreadgroupBytes += a.Bytes
			}
			k.Threadgroup = append(k.Threadgroup, a)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("msl: the source defines no kernel function")
	}
	return out, nil
}

// closing finds the bracket closing the one at open.
func closing(s string, open int, l, r byte) (int, error) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case l:
			depth++
		case r:
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced %c", l)
}

// splitParams splits a parameter list at commas outside brackets.
func splitParams(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '<', '[':
			depth++
		case ')', '>', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// mslScalarBytes are the sizes of MSL's scalar types.
var mslScalarBytes = map[string]int{
	"float": 4, "int": 4, "uint": 4, "half": 2, "short": 2, "ushort": 2, "char": 1, "uchar": 1, "bool": 1,
	"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4,
}

// typeBytes is an MSL type's size: scalars, and vectors (a 3-vector takes
// the room of a 4-vector, as in MSL; packed_ vectors do not).
func typeBytes(t string) int {
	if s, ok := mslScalarBytes[t]; ok {
		return s
	}
	packed := strings.HasPrefix(t, "packed_")
	t = strings.TrimPrefix(t, "packed_")
	if len(t) < 2 {
		return -1
	}
	n := int(t[len(t)-1] - '0')
	s, ok := mslScalarBytes[t[:len(t)-1]]
	if !ok || n < 2 || n > 4 {
		return -1
	}
	if n == 3 && !packed {
		n = 4
	}
	return s * n
}

func arrayBytes(typ string, dims []string) int {
	size := typeBytes(typ)
	if size < 0 {
		return -1
	}
	for _, d := range dims {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(d, "u"), "U"))
		if err != nil || n < 0 {
			return -1
		}
		size *= n
	}
	return size
}
