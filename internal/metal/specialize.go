package metal

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// How the engine's kernels are specialized on Metal.
//
// spirv-cross (scripts/shaders.sh) writes a SPIR-V specialization constant
// in one of two forms. A constant used where MSL needs a compile-time value
// (an array size, or in another constant's initializer) becomes a macro:
//
//	#ifndef SPIRV_CROSS_CONSTANT_ID_0
//	#define SPIRV_CROSS_CONSTANT_ID_0 64u
//	#endif
//	constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;
//
// any other becomes a Metal function constant:
//
//	constant uint MODE_tmp [[function_constant(1)]];
//	constant uint MODE = is_function_constant_defined(MODE_tmp) ? MODE_tmp : 0u;
//
// The spirv-cross the generator runs (Debian's 2021 build) also writes the
// workgroup-size constant glslc adds beside LX as a second
// [[function_constant(0)]], which MSL forbids (two function constants with
// one index: spirv-cross deduplicates them only since 2023). So the Metal
// device does not use function constants at all: specializeMSL rewrites
// each pair above into the macro form,
//
//	constant uint MODE = SPIRV_CROSS_CONSTANT_ID_1;
//
// and prepends one #define per specialization constant. Every
// specialization is then plain MSL, compiled once (Device.cachedLibrary),
// with nothing left to supply at pipeline creation; the threadgroup size,
// which MSL takes at dispatch time, is spec[0] × 1 × 1.

var (
	// functionConstant matches spirv-cross's two-line function-constant
	// declaration; the names are checked to agree in code (Go's regexp has
	// no back-references).
	functionConstant = regexp.MustCompile(`(?m)^constant (\w+) (\w+)_tmp \[\[function_constant\((\d+)\)\]\];\nconstant (\w+) (\w+) = is_function_constant_defined\((\w+)_tmp\) \? (\w+)_tmp : [^;\n]+;$`)
	// macroConstant matches a constant initialized from a
	// specialization macro.
	macroConstant = regexp.MustCompile(`(?m)^constant (\w+) \w+ = SPIRV_CROSS_CONSTANT_ID_(\d+);$`)
	macroUse      = regexp.MustCompile(`SPIRV_CROSS_CONSTANT_ID_(\d+)`)
)

// specializeMSL returns k's MSL specialized with spec (spec[i] is
// constant_id i, the bits Vulkan's specialization info would hold): the
// function constants rewritten as macro constants and a #define for every
// constant prepended. Constants must be uint, int or bool; the engine's
// kernels declare uint only.
func specializeMSL(k *gpu.Kernel, spec []uint32) (string, error) {
	if len(spec) != len(k.Spec) {
		return "", fmt.Errorf("metal: kernel %s: %d specialization constants given, the kernel has %d (%v)", k.Name, len(spec), len(k.Spec), k.Spec)
	}
	types := map[int]string{}
	setType := func(id int, typ string) error {
		if id >= len(spec) {
			return fmt.Errorf("metal: kernel %s: the MSL reads specialization constant %d, the description has %d (%v)", k.Name, id, len(spec), k.Spec)
		}
		switch typ {
		case "uint", "int", "bool":
		default:
			return fmt.Errorf("metal: kernel %s: specialization constant %d is %s; the Metal device takes uint, int and bool", k.Name, id, typ)
		}
		if prev, ok := types[id]; ok && prev != typ {
			return fmt.Errorf("metal: kernel %s: specialization constant %d is both %s and %s in the MSL", k.Name, id, prev, typ)
		}
		types[id] = typ
		return nil
	}
	var rewriteErr error
	src := functionConstant.ReplaceAllStringFunc(k.MSL, func(decl string) string {
		m := functionConstant.FindStringSubmatch(decl)
		typ, tmp, idText, typ2, name, tmp2, tmp3 := m[1], m[2], m[3], m[4], m[5], m[6], m[7]
		if typ != typ2 || tmp != tmp2 || tmp != tmp3 || name != tmp {
			if rewriteErr == nil {
				rewriteErr = fmt.Errorf("metal: kernel %s: unexpected function-constant declaration %q", k.Name, decl)
			}
			return decl
		}
		id, _ := strconv.Atoi(idText)
		if err := setType(id, typ); err != nil && rewriteErr == nil {
			rewriteErr = err
		}
		return fmt.Sprintf("constant %s %s = SPIRV_CROSS_CONSTANT_ID_%d;", typ, name, id)
	})
	if rewriteErr != nil {
		return "", rewriteErr
	}
	if i := strings.Index(src, "[[function_constant("); i >= 0 {
		line := src[strings.LastIndexByte(src[:i], '\n')+1:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		return "", fmt.Errorf("metal: kernel %s: a function constant the Metal device cannot rewrite: %q", k.Name, line)
	}
	for _, m := range macroConstant.FindAllStringSubmatch(src, -1) {
		id, _ := strconv.Atoi(m[2])
		if err := setType(id, m[1]); err != nil {
			return "", err
		}
	}
	for _, m := range macroUse.FindAllStringSubmatch(src, -1) {
		if id, _ := strconv.Atoi(m[1]); id >= len(spec) {
			return "", fmt.Errorf("metal: kernel %s: the MSL reads specialization constant %d, the description has %d (%v)", k.Name, id, len(spec), k.Spec)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// %s specialized by vlmrt's Metal device: %s\n", k.Name, k.DescribeSpec(spec))
	for id, v := range spec {
		fmt.Fprintf(&b, "#define SPIRV_CROSS_CONSTANT_ID_%d %s\n", id, specLiteral(types[id], v))
	}
	b.WriteString(src)
	return b.String(), nil
}

// specLiteral writes v as an MSL literal of type typ (uint when the MSL
// does not read the constant).
func specLiteral(typ string, v uint32) string {
	switch typ {
	case "int":
		return strconv.FormatInt(int64(int32(v)), 10)
	case "bool":
		if v != 0 {
			return "true"
		}
		return "false"
	}
	return strconv.FormatUint(uint64(v), 10) + "u"
}
