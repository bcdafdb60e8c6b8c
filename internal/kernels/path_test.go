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
// emulated-CPU runs (scripts/test-x86-cpus.sh) set it, so that a CPU
// without AVX-512 choosing anything but avx2, or one without AVX2 choosing
// anything but generic, fails instead of quietly testing another path.
const envExpectPath = "VLMRT_TEST_EXPECT_PATH"

// envExpectQ8Q8 names the int8×int8 kernel family (Q8Q8Path) the default
// path must use: on arm64 it tells the dot-product and i8mm extensions apart.
const envExpectQ8Q8 = "VLMRT_TEST_EXPECT_Q8Q8"

// TestExpectedPath: with VLMRT_TEST_EXPECT_PATH set, the best path this CPU
// supports (the default) is that one, and so is the active path unless
// VLMRT_CPU forced another; with VLMRT_TEST_EXPECT_Q8Q8 set, so is the
// default path's int8×int8 kernel family.
func TestExpectedPath(t *testing.T) {
	if want := os.Getenv(envExpectQ8Q8); want != "" {
		saved := Path()
		defer SetPath(saved)
		if err := SetPath(Paths()[0]); err != nil {
			t.Fatal(err)
		}
		if got := Q8Q8Path(); got != want {
			t.Fatalf("int8×int8 kernels %q on the default path, want %q", got, want)
		}
	}
	want := os.Getenv(envExpectPath)
	if want == "" {
		t.Logf("%s unset: default path here is %q (int8×int8: %q)", envExpectPath, Paths()[0], Q8Q8Path())
		return
	}
	if got := Paths()[0]; got != want {
		t.Fatalf("default kernel path %q, want %q (paths %v)", got, want, Paths())
	}
	if os.Getenv(EnvCPU) == "" && Path() != want {
		t.Fatalf("active kernel path %q, want %q", Path(), want)
	}
}
