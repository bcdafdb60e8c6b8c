package mslbind

import (
	"bytes"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fixtures in testdata are small GLSL kernels compiled the way the GPU
// engine's are (glslc --target-env=vulkan1.2, spirv-cross --msl
// --msl-version 30000), chosen for the cases where spirv-cross's MSL does
// not keep Vulkan's numbering. The expectations below were read off the
// generated .metal files by hand; TestFixturesAreFresh regenerates them.

func load(t *testing.T, name string) (*Module, []MSLKernel, string) {
	t.Helper()
	spv, err := os.ReadFile(filepath.Join("testdata", name+".spv"))
	if err != nil {
		t.Fatal(err)
	}
	msl, err := os.ReadFile(filepath.Join("testdata", name+".metal"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSPIRV(spv)
	if err != nil {
		t.Fatalf("%s.spv: %v", name, err)
	}
	ks, err := ParseMSL(string(msl))
	if err != nil {
		t.Fatalf("%s.metal: %v", name, err)
	}
	return m, ks, string(msl)
}

type want struct {
	buffers        map[[2]int]int
	push, pushSize int
	sizes          int
	local          [3]uint32
	localSpec      [3]int
	fcs            []int // SpecIds that are function constants
	macros         []int // SpecIds that are macros
	workgroup      int
	mslTG          int // ThreadgroupBytes parsed from the MSL
}

func TestBindFixtures(t *testing.T) {
	cases := map[string]want{
		"matvec": {
			buffers: map[[2]int]int{{0, 0}: 1, {0, 1}: 2, {0, 2}: 3, {0, 3}: 4}, push: 0, pushSize: 8, sizes: -1,
			local: [3]uint32{1, 1, 1}, localSpec: [3]int{0, -1, -1}, fcs: []int{0, 1}, workgroup: 128, mslTG: 128,
		},
		"order": {
			buffers: map[[2]int]int{{0, 0}: 1, {0, 2}: 2, {0, 1}: 3}, push: 0, pushSize: 4, sizes: -1,
			local: [3]uint32{64, 1, 1}, localSpec: [3]int{-1, -1, -1}, mslTG: 0,
		},
		"shared": {
			buffers: map[[2]int]int{{0, 1}: 0, {0, 0}: 1}, push: -1, sizes: 25,
			local: [3]uint32{128, 1, 1}, localSpec: [3]int{-1, -1, -1}, fcs: []int{1, 2}, macros: []int{0},
			workgroup: 16*8*16 + 64*4 + 7*4, mslTG: -1, // uint[_44]: a size the MSL computes
		},
		"named": {
			buffers: map[[2]int]int{{0, 3}: 0, {0, 0}: 1, {1, 5}: 3}, push: 2, pushSize: 16, sizes: -1,
			local: [3]uint32{16, 4, 1}, localSpec: [3]int{-1, -1, -1},
		},
		"spec": {
			buffers: map[[2]int]int{{0, 1}: 1, {0, 0}: 2}, push: 0, pushSize: 4, sizes: 25,
			local: [3]uint32{1, 1, 1}, localSpec: [3]int{0, -1, -1}, fcs: []int{0, 2}, macros: []int{1},
			workgroup: 16, mslTG: -1,
		},
		"decor": {
			buffers: map[[2]int]int{{0, 0}: 0, {0, 1}: 1, {0, 2}: 2}, push: -1, sizes: -1,
			local: [3]uint32{64, 1, 1}, localSpec: [3]int{-1, -1, -1},
		},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			m, ks, _ := load(t, name)
			b, err := Bind(m, ks)
			if err != nil {
				t.Fatal(err)
			}
			if b.Function != "main0" || m.Entry != "main" {
				t.Errorf("entry %q → function %q, want main → main0", m.Entry, b.Function)
			}
			if !maps.Equal(b.Buffers, w.buffers) {
				t.Errorf("buffers %v, want %v", b.Buffers, w.buffers)
			}
			if b.PushConstants != w.push || (w.push >= 0 && b.PushConstantBytes != w.pushSize) {
				t.Errorf("push constants at %d (%d bytes), want %d (%d bytes)", b.PushConstants, b.PushConstantBytes, w.push, w.pushSize)
			}
			if b.BufferSizes != w.sizes {
				t.Errorf("buffer sizes at %d, want %d", b.BufferSizes, w.sizes)
			}
			if b.Threadgroup != w.local || b.ThreadgroupSpecID != w.localSpec {
				t.Errorf("threadgroup %v (spec ids %v), want %v (%v)", b.Threadgroup, b.ThreadgroupSpecID, w.local, w.localSpec)
			}
			ids := func(s []SpecConstant) []int {
				var out []int
				for _, c := range s {
					out = append(out, c.SpecID)
				}
				return out
			}
			if !slices.Equal(ids(b.FunctionConstants), w.fcs) || !slices.Equal(ids(b.Macros), w.macros) {
				t.Errorf("function constants %v, macros %v; want %v, %v", ids(b.FunctionConstants), ids(b.Macros), w.fcs, w.macros)
			}
			if b.WorkgroupBytes != w.workgroup {
				t.Errorf("SPIR-V shared memory %d bytes, want %d", b.WorkgroupBytes, w.workgroup)
			}
			if ks[0].ThreadgroupBytes != w.mslTG {
				t.Errorf("MSL threadgroup memory %d bytes, want %d", ks[0].ThreadgroupBytes, w.mslTG)
			}
		})
	}
}

func TestSpecConstantDetails(t *testing.T) {
	m, _, _ := load(t, "shared")
	got := map[int]SpecConstant{}
	for _, s := range m.SpecConstants {
		got[s.SpecID] = s
	}
	if s := got[0]; s.Type != Int32 || int32(s.Default) != -3 {
		t.Errorf("SpecId 0: %v default %d, want int -3", s.Type, int32(s.Default))
	}
	if s := got[1]; s.Type != Float32 || s.Float32() != 1e-6 {
		t.Errorf("SpecId 1: %v default %v, want float 1e-6", s.Type, s.Float32())
	}
	if s := got[2]; s.Type != Bool || s.Default != 1 {
		t.Errorf("SpecId 2: %v default %d, want bool true", s.Type, s.Default)
	}
	m, _, _ = load(t, "matvec")
	if len(m.SpecConstants) != 2 || m.SpecConstants[1].Default != 4 || m.SpecConstants[1].Type != Uint32 {
		t.Errorf("matvec spec constants %+v", m.SpecConstants)
	}
	ub, ok := m.Resource(0, 3)
	if !ok || ub.Class != StorageBuffer {
		t.Errorf("matvec binding 3: %+v %v", ub, ok)
	}
	if _, ok := m.Resource(0, 9); ok {
		t.Error("a binding the kernel lacks was found")
	}
}

func TestWithMacros(t *testing.T) {
	m, ks, src := load(t, "shared")
	b, err := Bind(m, ks)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.WithMacros(src, nil); got != src {
		t.Error("no values changed the source")
	}
	got := b.WithMacros(src, map[int]uint32{0: uint32(0xfffffffb), 1: math.Float32bits(2)})
	if !strings.HasPrefix(got, "#define SPIRV_CROSS_CONSTANT_ID_0 -5\n#include") {
		t.Errorf("macro prefix: %q", got[:60])
	}
	for _, c := range []struct {
		t    ScalarType
		v    uint32
		want string
	}{{Uint32, 7, "7u"}, {Int32, 0xffffffff, "-1"}, {Bool, 1, "true"}, {Bool, 0, "false"}, {Float32, math.Float32bits(0.5), "as_type<float>(1056964608u)"}} {
		if got := literal(c.t, c.v); got != c.want {
			t.Errorf("literal(%v, %d) = %s, want %s", c.t, c.v, got, c.want)
		}
	}
}

// TestBindRefusesWhatItCannotMap edits the generated MSL the ways a
// mismatch between the two files would look.
func TestBindRefusesWhatItCannotMap(t *testing.T) {
	m, _, src := load(t, "matvec")
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"an extra buffer", "device _123& _125 [[buffer(4)]]", "device _123& _125 [[buffer(4)]], device float* extra [[buffer(7)]]", "matches no resource"},
		{"an index twice", "const device _62& _64 [[buffer(2)]]", "const device _62& _64 [[buffer(1)]]", "holds both"},
		{"a resource twice", "const device _62& _64 [[buffer(2)]]", "const device _46& _48 [[buffer(2)]]", "bound at both"},
		{"constant space for a storage buffer", "device _123& _125 [[buffer(4)]]", "constant _123& _125 [[buffer(4)]]", "address space"},
		{"a function constant of another type", "constant uint _16_tmp [[function_constant(1)]]", "constant int _16_tmp [[function_constant(1)]]", "function constant 1 is int"},
	} {
		edited := strings.Replace(src, c.old, c.new, 1)
		if edited == src {
			t.Fatalf("%s: the fixture no longer contains %q", c.name, c.old)
		}
		ks, err := ParseMSL(edited)
		if err == nil {
			_, err = Bind(m, ks)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	two := src + "\nkernel void other(device float* y [[buffer(0)]]) { y[0] = 0; }\n"
	ks, _ := ParseMSL(two)
	if b, err := Bind(m, ks); err != nil || b.Function != "main0" {
		t.Errorf("two kernels: %v, %v; want main0 picked for entry main", b, err)
	}
	m2 := *m
	m2.Entry = "matvec"
	if _, err := Bind(&m2, ks); err == nil || !strings.Contains(err.Error(), "main0, other") {
		t.Errorf("no kernel for the entry point: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	spv, _ := os.ReadFile("testdata/order.spv")
	for _, bad := range [][]byte{nil, spv[:19], spv[:len(spv)-2], append([]byte{1, 2, 3, 4}, spv[4:]...), spv[:len(spv)-12]} {
		if _, err := ParseSPIRV(bad); err == nil {
			t.Errorf("a %d-byte broken module parsed", len(bad))
		}
	}
	for _, bad := range []string{"", "kernel void k(device float* y [[buffer(0)]]", "kernel void k(weird y [[buffer(0)]]) {}"} {
		if _, err := ParseMSL(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestTypeBytes(t *testing.T) {
	for typ, want := range map[string]int{"float": 4, "half2": 4, "float3": 16, "packed_float3": 12, "uint4": 16, "char": 1, "spvUnsafeArray<float, 2>": -1, "float5": -1} {
		if got := typeBytes(typ); got != want {
			t.Errorf("typeBytes(%s) = %d, want %d", typ, got, want)
		}
	}
}

// TestFixturesAreFresh regenerates every fixture with glslc and
// spirv-cross and requires the committed files to match, so the
// expectations above describe what the tools produce today.
func TestFixturesAreFresh(t *testing.T) {
	glslc, err1 := exec.LookPath("glslc")
	cross, err2 := exec.LookPath("spirv-cross")
	if err1 != nil || err2 != nil {
		t.Skip("SKIPPED: glslc or spirv-cross is not installed (apt-get install glslc spirv-cross); the committed fixtures are used as they are")
	}
	srcs, _ := filepath.Glob("testdata/*.comp")
	dir := t.TempDir()
	for _, src := range srcs {
		name := strings.TrimSuffix(filepath.Base(src), ".comp")
		spv := filepath.Join(dir, name+".spv")
		args := []string{"--target-env=vulkan1.2", "-O", "-o", spv, src}
		if name == "named" { // keep the names
			args = slices.Delete(args, 1, 2)
		}
		if out, err := exec.Command(glslc, args...).CombinedOutput(); err != nil {
			t.Fatalf("glslc %s: %v\n%s", src, err, out)
		}
		msl := filepath.Join(dir, name+".metal")
		cargs := []string{spv, "--msl", "--msl-version", "30000", "--output", msl}
		if name == "decor" {
			cargs = append(cargs, "--msl-decoration-binding")
		}
		if out, err := exec.Command(cross, cargs...).CombinedOutput(); err != nil {
			t.Fatalf("spirv-cross %s: %v\n%s", spv, err, out)
		}
		for _, f := range []string{name + ".spv", name + ".metal"} {
			got, _ := os.ReadFile(filepath.Join(dir, f))
			want, _ := os.ReadFile(filepath.Join("testdata", f))
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/%s is stale: regenerate it (see this test for the commands)", f)
			}
		}
	}
}

func TestCheckAgainstADescription(t *testing.T) {
	m, ks, _ := load(t, "matvec")
	b, err := Bind(m, ks)
	if err != nil {
		t.Fatal(err)
	}
	good := Expect{
		Bindings:          [][2]int{{0, 0}, {0, 1}, {0, 2}, {0, 3}},
		PushConstantBytes: 8,
		SpecConstants:     map[int]ScalarType{0: Uint32, 1: Uint32},
		Threadgroup:       [3]uint32{128, 1, 1},
		Spec:              map[int]uint32{0: 128},
	}
	if err := b.Check(m, good); err != nil {
		t.Fatalf("a matching description: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(e *Expect)
		want string
	}{
		{"a binding left out", func(e *Expect) { e.Bindings = e.Bindings[:3] }, "binding 3 ([[buffer(4)]]), the description does not bind it"},
		{"a binding that does not exist", func(e *Expect) { e.Bindings = append(e.Bindings, [2]int{0, 7}) }, "no such resource"},
		{"too few push bytes", func(e *Expect) { e.PushConstantBytes = 4 }, "reads 8 bytes of push constants"},
		{"a spec constant of another type", func(e *Expect) { e.SpecConstants[1] = Float32 }, "constant 1 is uint in the kernel, float"},
		{"an unknown spec constant", func(e *Expect) { e.SpecConstants[9] = Uint32 }, "constant 9"},
		{"another threadgroup", func(e *Expect) { e.Spec = map[int]uint32{0: 64} }, "threadgroup [64 1 1]"},
	} {
		e := good
		e.Bindings = slices.Clone(good.Bindings)
		e.SpecConstants = maps.Clone(good.SpecConstants)
		c.edit(&e)
		if err := b.Check(m, e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Push constants the kernel does not read.
	m2, ks2, _ := load(t, "decor")
	b2, _ := Bind(m2, ks2)
	if err := b2.Check(m2, Expect{Bindings: [][2]int{{0, 0}, {0, 1}, {0, 2}}, PushConstantBytes: 4}); err == nil {
		t.Error("push constants for a kernel without any passed the check")
	}
}
