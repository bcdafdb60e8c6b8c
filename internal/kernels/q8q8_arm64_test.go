//go:build !noasm

package kernels

import "testing"

// TestMatVecQ8Q8NoDotProd runs the int8×int8 test on the NEON path as a CPU
// without the dot-product extension takes it (the pure-Go kernel).
func TestMatVecQ8Q8NoDotProd(t *testing.T) {
	if !useDotProd {
		t.Skip("CPU lacks the dot-product extension: TestMatVecQ8Q8 already ran without it")
	}
	useDotProd = false
	defer func() { useDotProd = true }()
	TestMatVecQ8Q8(t)
}

// TestMatVecQ8Q8NoI8MM runs the int8×int8 test on the NEON path as a CPU
// with the dot-product extension but without i8mm takes it (SDOT for every
// vector count).
func TestMatVecQ8Q8NoI8MM(t *testing.T) {
	if !useI8MM {
		t.Skip("CPU lacks i8mm: TestMatVecQ8Q8 already ran without it")
	}
	useI8MM = false
	defer func() { useI8MM = true }()
	TestMatVecQ8Q8(t)
}
