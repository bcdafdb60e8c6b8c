package metal

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/metal/mslbind"
)

// TestEngineKernelsMSLBindings checks every kernel of the GPU engine the
// way the Metal device will use it, against the Go description
// (gpu.Kernel) and the kernel's SPIR-V:
//
//   - the MSL kernel NAME_main's [[buffer(n)]] arguments are storage buffer
//     binding n for n < Buffers (device memory, one each) and the
//     push-constant block at [[buffer(Buffers)]] (constant memory, read
//     within PushBytes), and nothing else — in particular no
//     spvBufferSizeConstants, which the device does not supply;
//   - the specialization constants are SPIR-V uints numbered as Spec
//     names them, constant 0 giving the workgroup's x size (y = z = 1), so
//     a threadgroup of spec[0] × 1 × 1 is the Vulkan workgroup;
//   - the shared memory the SPIR-V declares fits Apple's 32 KiB at the
//     default specialization;
//   - the source the device compiles (specializeMSL, with the engine's
//     workgroup sizes) has a #define for every constant, no function
//     constants left, and the same kernel signature.
func TestEngineKernelsMSLBindings(t *testing.T) {
	fcIndex := regexp.MustCompile(`\[\[function_constant\((\d+)\)\]\]`)
	for _, name := range gpu.KernelNames {
		t.Run(name, func(t *testing.T) {
			k, err := gpu.LoadKernel(name)
			if err != nil {
				t.Fatal(err)
			}
			mod, err := mslbind.ParseSPIRV(k.SPIRV)
			if err != nil {
				t.Fatal(err)
			}
			fns, err := mslbind.ParseMSL(k.MSL)
			if err != nil {
				t.Fatal(err)
			}
			b, err := mslbind.Bind(mod, fns)
			if err != nil {
				t.Fatal(err)
			}
			if b.Function != name+"_main" {
				t.Errorf("entry point %s, want %s_main", b.Function, name)
			}
			e := mslbind.Expect{
				PushConstantBytes: k.PushBytes,
				SpecConstants:     map[int]mslbind.ScalarType{},
				Threadgroup:       [3]uint32{64, 1, 1},
				Spec:              map[int]uint32{0: 64},
			}
			for i := range k.Buffers {
				e.Bindings = append(e.Bindings, [2]int{0, i})
			}
			for i := range k.Spec {
				e.SpecConstants[i] = mslbind.Uint32
			}
			if err := b.Check(mod, e); err != nil {
				t.Error(err)
			}
			for key, idx := range b.Buffers {
				if key[0] != 0 || idx != key[1] {
					t.Errorf("set %d binding %d is [[buffer(%d)]]; the device binds buffer i at index i", key[0], key[1], idx)
				}
			}
			if k.PushBytes > 0 && b.PushConstants != k.Buffers {
				t.Errorf("push constants at [[buffer(%d)]], the device sets them at %d (Kernel.Buffers)", b.PushConstants, k.Buffers)
			}
			if k.PushBytes == 0 && b.PushConstants >= 0 {
				t.Errorf("the kernel reads push constants at [[buffer(%d)]], the description has none", b.PushConstants)
			}
			if b.BufferSizes >= 0 {
				t.Errorf("the kernel reads spvBufferSizeConstants at [[buffer(%d)]] (an array's .length()); the device does not supply it", b.BufferSizes)
			}
			if b.ThreadgroupSpecID[0] != 0 || b.ThreadgroupSpecID[1] >= 0 || b.ThreadgroupSpecID[2] >= 0 || b.Threadgroup[1] != 1 || b.Threadgroup[2] != 1 {
				t.Errorf("workgroup %v from spec ids %v; the device dispatches spec[0] × 1 × 1", b.Threadgroup, b.ThreadgroupSpecID)
			}
			if b.WorkgroupBytes > 32<<10 {
				t.Errorf("%d bytes of shared memory at the defaults, Apple GPUs have 32 KiB", b.WorkgroupBytes)
			}
			ids := map[int]bool{}
			for _, s := range mod.SpecConstants {
				ids[s.SpecID] = true
			}
			for i := range k.Spec {
				if !ids[i] {
					t.Errorf("Spec[%d] = %s is not a specialization constant of the SPIR-V", i, k.Spec[i])
				}
			}
			var dups []string
			seen := map[string]int{}
			for _, m := range fcIndex.FindAllStringSubmatch(k.MSL, -1) {
				if seen[m[1]]++; seen[m[1]] == 2 {
					dups = append(dups, m[1])
				}
			}
			if len(dups) > 0 {
				t.Logf("as generated, the MSL declares function constant(s) %v more than once (MSL forbids it; specializeMSL removes them)", dups)
			}

			for _, lx := range []uint32{32, 64, 256, 1024} {
				spec := make([]uint32, len(k.Spec))
				spec[0] = lx
				for i := 1; i < len(spec); i++ {
					spec[i] = uint32(i)
				}
				src, err := specializeMSL(k, spec)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(src, "function_constant") || strings.Contains(src, "is_function_constant_defined") {
					t.Errorf("LX=%d: function constants left in the compiled source", lx)
				}
				for i, v := range spec {
					if def := fmt.Sprintf("#define SPIRV_CROSS_CONSTANT_ID_%d %du\n", i, v); !strings.Contains(src, def) {
						t.Errorf("LX=%d: no %q", lx, strings.TrimSpace(def))
					}
				}
				sfns, err := mslbind.ParseMSL(src)
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(sfns, func(f mslbind.MSLKernel) bool { return f.Name == name+"_main" })
				j := slices.IndexFunc(fns, func(f mslbind.MSLKernel) bool { return f.Name == name+"_main" })
				if i < 0 || j < 0 || !slices.Equal(sfns[i].Buffers, fns[j].Buffers) {
					t.Errorf("LX=%d: the specialized kernel's arguments differ from the generated ones", lx)
				}
				if len(sfns[i].FunctionConstants) != 0 {
					t.Errorf("LX=%d: function constants %v left", lx, sfns[i].FunctionConstants)
				}
			}
		})
	}
}

// TestSpecializeMSL on hand-written spirv-cross-shaped sources: types,
// duplicates, refusals.
func TestSpecializeMSL(t *testing.T) {
	src := `#include <metal_stdlib>
using namespace metal;
constant uint LX_tmp [[function_constant(0)]];
constant uint LX = is_function_constant_defined(LX_tmp) ? LX_tmp : 64u;
#ifndef SPIRV_CROSS_CONSTANT_ID_1
#define SPIRV_CROSS_CONSTANT_ID_1 4
#endif
constant int N = SPIRV_CROSS_CONSTANT_ID_1;
constant bool ON_tmp [[function_constant(2)]];
constant bool ON = is_function_constant_defined(ON_tmp) ? ON_tmp : true;
constant uint _9_tmp [[function_constant(0)]];
constant uint _9 = is_function_constant_defined(_9_tmp) ? _9_tmp : 1u;
kernel void k_main(device float* y [[buffer(0)]]) { threadgroup float s[N]; y[0] = float(LX + _9) + s[0]; }
`
	k := &gpu.Kernel{Name: "k", MSL: src, Buffers: 1, Spec: []string{"LX", "N", "ON"}}
	got, err := specializeMSL(k, []uint32{128, 0xffffffff, 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#define SPIRV_CROSS_CONSTANT_ID_0 128u\n",
		"#define SPIRV_CROSS_CONSTANT_ID_1 -1\n",
		"#define SPIRV_CROSS_CONSTANT_ID_2 false\n",
		"constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;\n",
		"constant uint _9 = SPIRV_CROSS_CONSTANT_ID_0;\n",
		"constant bool ON = SPIRV_CROSS_CONSTANT_ID_2;\n",
		"constant int N = SPIRV_CROSS_CONSTANT_ID_1;\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "function_constant") {
		t.Errorf("function constants left:\n%s", got)
	}
	for name, c := range map[string]struct {
		msl  string
		spec []uint32
	}{
		"too few values":   {src, []uint32{1, 2}},
		"undescribed id":   {strings.Replace(src, "function_constant(2)", "function_constant(5)", 1), []uint32{1, 2, 3}},
		"float constant":   {strings.Replace(src, "constant bool ON_tmp [[function_constant(2)]];\nconstant bool ON = is_function_constant_defined(ON_tmp) ? ON_tmp : true;", "constant float ON_tmp [[function_constant(2)]];\nconstant float ON = is_function_constant_defined(ON_tmp) ? ON_tmp : 1.0;", 1), []uint32{1, 2, 3}},
		"unknown shape":    {src + "constant uint Z [[function_constant(1)]];\n", []uint32{1, 2, 3}},
		"conflicting type": {src + "constant uint M = SPIRV_CROSS_CONSTANT_ID_1;\n", []uint32{1, 2, 3}},
	} {
		k := &gpu.Kernel{Name: "k", MSL: c.msl, Buffers: 1, Spec: []string{"LX", "N", "ON"}}
		if _, err := specializeMSL(k, c.spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
