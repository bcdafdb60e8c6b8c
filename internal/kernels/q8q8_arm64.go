//go:build !noasm

package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// No arm64 int8×int8 assembly yet: the pure-Go kernel runs.
func q8q8FormFor(n int) int { return formNone }

// Q8Q8Path names the int8×int8 kernels the active path runs.
func Q8Q8Path() string { return PathGeneric }

func q8q8Asm(y []float32, w *quant.Matrix, a *Q8Acts, r0, r1, groups int) {}
