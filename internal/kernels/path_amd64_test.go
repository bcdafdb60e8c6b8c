//go:build !noasm

package kernels

import "testing"

// eachPath runs f with the AVX2 kernels (when the CPU has them) and with
// the pure-Go fallback that CPUs without AVX2 take.
func eachPath(t *testing.T, f func(t *testing.T)) {
	saved := haveAsm
	defer func() { haveAsm = saved }()
	if saved {
		t.Run("avx2", f)
	} else {
		t.Log("CPU lacks AVX2/FMA/F16C: assembly path not exercised")
	}
	haveAsm = false
	t.Run("go", f)
}
