package kernels

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Kernel paths: which instruction set the kernels use. The best path the
// CPU supports is chosen once at start; VLMRT_CPU names a lower one (to
// test every path a machine has, or to compare them).
const (
	PathAVX512VNNI = "avx512vnni" // amd64: avx512 with AVX-512 VNNI integer dot products (VPDPBUSD, VPDPWSSD)
	PathAVX512     = "avx512"     // amd64: AVX-512 F+BW+VL int8 products on top of AVX2
	PathAVXVNNI    = "avxvnni"    // amd64: avx2 with AVX-VNNI (VEX) integer dot products (VPDPBUSD, VPDPWSSD)
	PathAVX2       = "avx2"       // amd64: AVX2+FMA+F16C
	PathNEON       = "neon"       // arm64: Advanced SIMD
	PathGeneric    = "generic"    // pure Go
)

// EnvCPU is the environment variable that forces a kernel path.
const EnvCPU = "VLMRT_CPU"

var (
	activePath string
	pathErr    error
)

func init() {
	want := strings.ToLower(strings.TrimSpace(os.Getenv(EnvCPU)))
	activePath = Paths()[0]
	if want != "" {
		if err := SetPath(want); err != nil {
			pathErr = fmt.Errorf("%s=%s: %w", EnvCPU, want, err)
			return
		}
	}
	setArchPath(activePath)
}

// Path names the kernel path in use ("avx512vnni", "avx512", "avxvnni",
// "avx2", "neon", "generic").
func Path() string { return activePath }

// Paths lists the paths this CPU and build support, best first.
func Paths() []string { return archPaths() }

// PathError reports a VLMRT_CPU value naming a path this machine cannot
// run (the best path runs instead); callers that open models return it.
func PathError() error { return pathErr }

// SetPath switches the kernels to path p, which must be one of Paths. It
// is meant for start-up and tests: do not call it while kernels run.
func SetPath(p string) error {
	if !slices.Contains(Paths(), p) {
		return fmt.Errorf("kernel path %q is not available on this CPU/build (available: %s)", p, strings.Join(Paths(), ", "))
	}
	activePath = p
	setArchPath(p)
	return nil
}
