//go:build !noasm

package kernels

import "testing"

// TestMatVecQ8Q8NoDotProd runs the int8×int8 test on the NEON path as a CPU
// without the dot-product extension takes it (the pure-Go kernel).
func TestMatVecQ8Q8NoDotProd(t *testing.T) { q8q8Without(t, &useDotProd, "the dot-product extension") }

// TestMatVecQ8Q8NoI8MM runs the int8×int8 test on the NEON path as a CPU
// with the dot-product extension but without i8mm takes it (SDOT for every
// vector count).
func TestMatVecQ8Q8NoI8MM(t *testing.T) { q8q8Without(t, &useI8MM, "i8mm") }

// q8q8Without runs TestMatVecQ8Q8 with the CPU feature *has switched off.
func q8q8Without(t *testing.T, has *bool, feature string) {
	if !*has {
		t.Skipf("CPU lacks %s: TestMatVecQ8Q8 already ran without it", feature)
	}
	*has = false
	defer func() { *has = true }()
	TestMatVecQ8Q8(t)
}
