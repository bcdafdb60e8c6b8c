//go:build noasm || !(amd64 || arm64)

package kernels

import "github.com/vlmrt/vlmrt/internal/quant"

// Q8Q16Path names the int8×int16 kernels the active path runs.
func Q8Q16Path() string { return PathGeneric }

// quantizeAct16Asm: without amd64 assembly every block is quantized in Go.
func quantizeAct16Asm(q []int16, scales []float32, x []float32) int { return 0 }

// q8q16Asm: without amd64 assembly every block takes the Go kernel.
func q8q16Asm(y []float32, w *quant.Matrix, a *Q16Acts, r0, r1 int) bool { return false }

// laneGroupAct16: the Go kernel reads the activations in order.
func laneGroupAct16(dst, q []int16, n, cols, stride int) []int16 { return dst }
