//go:build !noasm

package kernels

import "testing"

// eachPath runs f on every kernel path this CPU supports (AVX-512, AVX2,
// pure Go), restoring the active one afterwards.
func eachPath(t *testing.T, f func(t *testing.T)) {
	saved := Path()
	defer SetPath(saved)
	if !cpuAVX512 {
		t.Log("CPU lacks AVX-512 F/BW/VL: the 512-bit path is not exercised here")
	}
	if !cpuAVX2 {
		t.Log("CPU lacks AVX2/FMA/F16C: assembly paths not exercised")
	}
	for _, p := range Paths() {
		if err := SetPath(p); err != nil {
			t.Fatal(err)
		}
		t.Run(p, f)
	}
}
