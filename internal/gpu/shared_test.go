package gpu

import (
	"strings"
	"testing"
)

// The shared-memory sizes read from the MSL match the GLSL declarations
// (shaders/*.comp) evaluated by hand.
func TestSharedBytes(t *testing.T) {
	cases := []struct {
		kernel string
		spec   []uint32
		want   int
	}{
		{"attention", []uint32{64, 1, 0, 2}, (2*64 + 64 + 64) * 4}, // qs[MAXD*LX], ps[LX], red[LX]
		{"argmax", []uint32{128}, 3 * 128 * 4},                     // bv, bi, bad [LX]
		{"rope", []uint32{32, 1}, (32 + 512) * 4},                  // red[LX], v[512]
		{"norm", []uint32{256, 0}, 256 * 4},                        // red[LX]
		{"matmul", []uint32{64, 0, 32, 4}, 4 * 64 * 4},             // red[TN*LX]
		{"attention_rows", []uint32{64, 1, 0, 128}, 0},             // registers only
		{"embed", []uint32{64, 0}, 0},
	}
	for _, c := range cases {
		k, err := LoadKernel(c.kernel)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.spec) != len(k.Spec) {
			t.Fatalf("%s: test gives %d constants, kernel has %v", c.kernel, len(c.spec), k.Spec)
		}
		got, err := k.SharedBytes(c.spec)
		if err != nil || got != c.want {
			t.Errorf("%s %s: SharedBytes = %d, %v; want %d (arrays %+v)", c.kernel, k.DescribeSpec(c.spec), got, err, c.want, k.Shared)
		}
	}
}

func TestParseSharedRefusesUnknownSizes(t *testing.T) {
	msl := "constant uint _9 = (LX / 2u);\nkernel void k_main() {\n    threadgroup float a[_9];\n}\n"
	if _, err := parseShared(msl, []string{"LX"}); err == nil || !strings.Contains(err.Error(), "LX / 2u") {
		t.Fatalf("parseShared of a division: err %v, want one naming the size", err)
	}
	msl = "constant uint _7 = (MAXD * LX);\n    threadgroup uint a[_7];\n    threadgroup float b[16u];\n"
	arrs, err := parseShared(msl, []string{"LX", "MAXD"})
	if err != nil || len(arrs) != 2 || strings.Join(arrs[0].Factors, "*") != "MAXD*LX" || arrs[1].Factors[0] != "16" {
		t.Fatalf("parseShared = %+v, %v", arrs, err)
	}
}
