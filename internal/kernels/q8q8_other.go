//go:build noasm || !(amd64 || arm64)

package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// Without assembly the int8×int8 products take the pure-Go kernel.
func q8q8FormFor(n int) int { return formNone }

// Q8Q8Path names the int8×int8 kernels the active path runs.
func Q8Q8Path() string { return PathGeneric }

func q8q8Asm(y []float32, w *quant.Matrix, a *Q8Acts, r0, r1, groups int) {}
