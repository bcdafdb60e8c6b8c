package kernels

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestPaths: the best path is chosen unless VLMRT_CPU says otherwise, the
// generic path is always available, and an unavailable path is an error.
func TestPaths(t *testing.T) {
	ps := Paths()
	if ps[len(ps)-1] != PathGeneric {
		t.Fatalf("paths %v do not end with %q", ps, PathGeneric)
	}
	if PathError() == nil && !slices.Contains(ps, Path()) {
		t.Fatalf("active path %q not in %v", Path(), ps)
	}
	if err := SetPath("sse9"); err == nil || !strings.Contains(err.Error(), "available: ") {
		t.Fatalf("SetPath(sse9): %v", err)
	}
	t.Logf("paths %v, active %q", ps, Path())
}

// envExpectPath names the path a test run must find chosen by default. The
// emulated-CPU runs (scripts/test-cpus.sh) set it, so that a CPU without
// AVX-512 choosing anything but avx2, or one without AVX2 choosing anything
// but generic, fails instead of quietly testing another path.
const envExpectPath = "VLMRT_TEST_EXPECT_PATH"

// envExpectQ8Q8 names the int8×int8 kernel family (Q8Q8Path) the default
// path must use: on arm64 it tells the dot-product and i8mm extensions apart.
const envExpectQ8Q8 = "VLMRT_TEST_EXPECT_Q8Q8"

// TestExpectedPath: with VLMRT_TEST_EXPECT_PATH set, the best path this CPU
// supports (the default) is that one, and so is the active path unless
// VLMRT_CPU forced another; with VLMRT_TEST_EXPECT_Q8Q8 set, so is the
// default path's int8×int8 kernel family.
func TestExpectedPath(t *testing.T) {
	active, best := Path(), Paths()[0]
	if want := os.Getenv(envExpectPath); want != "" {
		if best != want {
			t.Fatalf("default kernel path %q, want %q (paths %v)", best, want, Paths())
		}
		if os.Getenv(EnvCPU) == "" && active != want {
			t.Fatalf("active kernel path %q, want %q", active, want)
		}
	}
	defer SetPath(active)
	if err := SetPath(best); err != nil {
		t.Fatal(err)
	}
	if want := os.Getenv(envExpectQ8Q8); want != "" && Q8Q8Path() != want {
		t.Fatalf("int8×int8 kernels %q on the default path, want %q", Q8Q8Path(), want)
	}
	t.Logf("default path %q (int8×int8: %q), active %q", best, Q8Q8Path(), active)
}
