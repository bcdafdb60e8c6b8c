package kernels

import (
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
