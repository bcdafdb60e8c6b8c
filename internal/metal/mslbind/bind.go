package mslbind

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Binding is how to run a SPIR-V kernel's MSL twin with the arguments its
// Vulkan form takes.
type Binding struct {
	// Function is the MSL kernel function's name.
	Function string
	// Buffers maps a descriptor (set, binding) to its [[buffer(n)]]
	// index. A binding the kernel does not use is absent: bind nothing.
	Buffers map[[2]int]int
	// PushConstants is the [[buffer(n)]] index of the push-constant block
	// (set its bytes there), or -1; PushConstantBytes its size.
	PushConstants     int
	PushConstantBytes int
	// BufferSizes is the index of spvBufferSizeConstants, or -1: a
	// constant uint array whose entry n is the size in bytes of what is
	// bound at [[buffer(n)]].
	BufferSizes int
	// FunctionConstants are the specialization constants Metal takes at
	// pipeline creation (SpecId = function constant index); Macros those
	// fixed when the MSL is compiled (SPIRV_CROSS_CONSTANT_ID_n, see
	// WithMacros).
	FunctionConstants []SpecConstant
	Macros            []SpecConstant
	// Threadgroup is the kernel's threadgroup size with specialization
	// constants at their defaults; ThreadgroupSpecID[i] the SpecId that
	// sets dimension i, or -1.
	Threadgroup       [3]uint32
	ThreadgroupSpecID [3]int
	// WorkgroupBytes is the shared memory the SPIR-V declares (defaults).
	WorkgroupBytes int
}

// Bind matches the MSL kernel spirv-cross made of m with m's resources.
// kernels is ParseMSL's result; the kernel is the one named like the
// SPIR-V entry point (spirv-cross writes main as main0) or the only one.
// Every [[buffer(n)]] must be one of m's resources (or
// spvBufferSizeConstants), each resource at most once, and every
// specialization constant the MSL reads must have the SPIR-V's type.
func Bind(m *Module, kernels []MSLKernel) (*Binding, error) {
	k, err := pick(m.Entry, kernels)
	if err != nil {
		return nil, err
	}
	b := &Binding{
		Function: k.Name, Buffers: map[[2]int]int{}, PushConstants: -1, BufferSizes: -1,
		Threadgroup: m.LocalSize, ThreadgroupSpecID: m.LocalSizeSpecID, WorkgroupBytes: m.WorkgroupBytes,
	}
	used := map[uint32]int{}
	indices := map[int]string{}
	for _, p := range k.Buffers {
		if prev, ok := indices[p.Index]; ok {
			return nil, fmt.Errorf("msl: kernel %s: [[buffer(%d)]] holds both %s and %s", k.Name, p.Index, prev, p.Var)
		}
		indices[p.Index] = p.Var
		if p.Var == BufferSizeVar {
			b.BufferSizes = p.Index
			continue
		}
		r, ok := resourceOf(m, p)
		if !ok {
			return nil, fmt.Errorf("msl: kernel %s: [[buffer(%d)]] %s %s& %s matches no resource of the SPIR-V (%s)",
				k.Name, p.Index, p.Space, p.Type, p.Var, describe(m.Resources))
		}
		if prev, dup := used[r.ID]; dup {
			return nil, fmt.Errorf("msl: kernel %s: %s is bound at both [[buffer(%d)]] and [[buffer(%d)]]", k.Name, resourceName(r), prev, p.Index)
		}
		used[r.ID] = p.Index
		want := "device"
		if r.Class != StorageBuffer {
			want = "constant"
		}
		if p.Space != want {
			return nil, fmt.Errorf("msl: kernel %s: %s is in the %s address space, want %s", k.Name, resourceName(r), p.Space, want)
		}
		if r.Class == PushConstant {
			b.PushConstants, b.PushConstantBytes = p.Index, r.Size
			continue
		}
		b.Buffers[[2]int{r.Set, r.Binding}] = p.Index
	}
	for _, s := range m.SpecConstants {
		typ, isFC := k.FunctionConstants[s.SpecID]
		switch {
		case isFC:
			if typ != s.Type.String() {
				return nil, fmt.Errorf("msl: kernel %s: function constant %d is %s, the SPIR-V spec constant %s is %s",
					k.Name, s.SpecID, typ, s.Name, s.Type)
			}
			b.FunctionConstants = append(b.FunctionConstants, s)
		case slices.Contains(k.Macros, s.SpecID):
			b.Macros = append(b.Macros, s)
		}
	}
	return b, nil
}

// pick finds the kernel of entry point entry.
func pick(entry string, kernels []MSLKernel) (*MSLKernel, error) {
	var names []string
	for i := range kernels {
		if kernels[i].Name == entry || (entry == "main" && kernels[i].Name == "main0") {
			return &kernels[i], nil
		}
		names = append(names, kernels[i].Name)
	}
	if len(kernels) == 1 {
		return &kernels[0], nil
	}
	return nil, fmt.Errorf("msl: no kernel for entry point %q among %s", entry, strings.Join(names, ", "))
}

// resourceOf finds the resource an MSL argument stands for: spirv-cross
// names a variable by its OpName or "_<id>", and its block type likewise.
func resourceOf(m *Module, p MSLBuffer) (Resource, bool) {
	match := func(f func(r Resource) bool) (Resource, bool) {
		var found []Resource
		for _, r := range m.Resources {
			if f(r) {
				found = append(found, r)
			}
		}
		if len(found) == 1 {
			return found[0], true
		}
		return Resource{}, false
	}
	if id, ok := underscoreID(p.Var); ok {
		if r, ok := match(func(r Resource) bool { return r.ID == id }); ok {
			return r, true
		}
	}
	if r, ok := match(func(r Resource) bool { return r.Name != "" && r.Name == p.Var }); ok {
		return r, true
	}
	// A name spirv-cross had to change (an MSL keyword): fall back to the type.
	if id, ok := underscoreID(p.Type); ok {
		if r, ok := match(func(r Resource) bool { return r.TypeID == id }); ok {
			return r, true
		}
	}
	return match(func(r Resource) bool { return r.TypeName != "" && r.TypeName == p.Type })
}

func underscoreID(s string) (uint32, bool) {
	if !strings.HasPrefix(s, "_") {
		return 0, false
	}
	n, err := strconv.ParseUint(s[1:], 10, 32)
	return uint32(n), err == nil
}

func resourceName(r Resource) string {
	if r.Class == PushConstant {
		return "the push constants"
	}
	return fmt.Sprintf("%s (set %d, binding %d)", r.Class, r.Set, r.Binding)
}

func describe(rs []Resource) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%%%d %s %s", r.ID, r.Name, resourceName(r)))
	}
	if len(s) == 0 {
		return "it has none"
	}
	return strings.Join(s, "; ")
}

// WithMacros returns src with the values of the specialization constants
// spirv-cross turned into macros defined first, so the compile fixes them
// (values: SpecId → value bits; missing ones keep the SPIR-V default).
func (b *Binding) WithMacros(src string, values map[int]uint32) string {
	var pre strings.Builder
	for _, s := range b.Macros {
		v, ok := values[s.SpecID]
		if !ok {
			continue
		}
		fmt.Fprintf(&pre, "#define SPIRV_CROSS_CONSTANT_ID_%d %s\n", s.SpecID, literal(s.Type, v))
	}
	if pre.Len() == 0 {
		return src
	}
	return pre.String() + src
}

// literal writes a constant's bits as an MSL literal of its type.
func literal(t ScalarType, v uint32) string {
	switch t {
	case Int32:
		return strconv.Itoa(int(int32(v)))
	case Float32:
		return "as_type<float>(" + strconv.FormatUint(uint64(v), 10) + "u)"
	case Bool:
		if v != 0 {
			return "true"
		}
		return "false"
	}
	return strconv.FormatUint(uint64(v), 10) + "u"
}
