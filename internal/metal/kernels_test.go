package metal

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/quant"
)

// The MSL source cannot be compiled off a Mac; these checks keep the Go
// side's assumptions about it (names, bindings, constants) true.

func TestSourceDeclaresKernels(t *testing.T) {
	if !strings.HasPrefix(Source, "#include <metal_stdlib>\n") {
		t.Error("Source does not start with #include <metal_stdlib>")
	}
	for _, k := range Kernels {
		if !strings.Contains(Source, "kernel void "+k+"(") {
			t.Errorf("Source has no kernel function %s", k)
		}
	}
	if n := strings.Count(Source, "kernel void "); n != len(Kernels) {
		t.Errorf("Source defines %d kernels, Kernels lists %d", n, len(Kernels))
	}
	if strings.IndexByte(Source, 0) >= 0 {
		t.Error("Source contains a NUL byte (NewLibrary refuses it)")
	}
}

func TestSourceConstantsMatchGo(t *testing.T) {
	for name, want := range map[string]int{"kBlock": quant.BlockSize, "kRowsPerGroup": MatVecQ8RowsPerGroup} {
		m := regexp.MustCompile(`constexpr uint ` + name + ` = (\d+);`).FindStringSubmatch(Source)
		if m == nil {
			t.Errorf("Source does not define %s", name)
			continue
		}
		if got, _ := strconv.Atoi(m[1]); got != want {
			t.Errorf("Source's %s = %d, the Go side uses %d", name, got, want)
		}
	}
	// The butterfly must start at half the SIMD width and halve to 1.
	want := []string{}
	for off := SIMDWidth / 2; off >= 1; off /= 2 {
		want = append(want, strconv.Itoa(off))
	}
	var got []string
	for _, m := range regexp.MustCompile(`simd_shuffle_xor\(part, ushort\((\d+)\)\)`).FindAllStringSubmatch(Source, -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("butterfly offsets %v, want %v", got, want)
	}
	// MatVecQ8Params is three 32-bit fields.
	if n := len(regexp.MustCompile(`(?s)struct MatVecQ8Params \{(.*?)\};`).FindStringSubmatch(Source)); n != 2 {
		t.Fatal("Source does not define struct MatVecQ8Params")
	}
	body := regexp.MustCompile(`(?s)struct MatVecQ8Params \{(.*?)\};`).FindStringSubmatch(Source)[1]
	if fields := strings.Count(body, "uint "); 4*fields != MatVecQ8ParamsSize {
		t.Errorf("MatVecQ8Params has %d uint fields, the Go side packs %d bytes", fields, MatVecQ8ParamsSize)
	}
}

func TestSourceBindingsMatchGo(t *testing.T) {
	want := map[string]int{
		"q": MatVecQ8ArgQ, "scales": MatVecQ8ArgScales, "x": MatVecQ8ArgX, "y": MatVecQ8ArgY, "p": MatVecQ8ArgParams,
	}
	re := regexp.MustCompile(`(\w+)\s+\[\[buffer\((\d+)\)\]\]`)
	got := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(Source, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(got) != len(want) {
		t.Errorf("Source binds %v, want %v", got, want)
	}
	for name, idx := range want {
		if g, ok := got[name]; !ok || g != idx {
			t.Errorf("matvec_q8 argument %s at buffer(%d), the Go side binds index %d", name, g, idx)
		}
	}
}
