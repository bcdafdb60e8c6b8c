// Command cpupaths prints the CPU kernel paths this machine supports, best
// first, one per line (the Makefile runs the golden tests on each).
package main

import (
	"fmt"

	"github.com/vlmrt/vlmrt/internal/kernels"
)

func main() {
	for _, p := range kernels.Paths() {
		fmt.Println(p)
	}
}
