package kernels

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"
)

// TestMeasurePeakGFLOPs: the probe reports a positive, finite rate on the
// CPU's widest path, and rejects bad thread counts and cancelled contexts.
func TestMeasurePeakGFLOPs(t *testing.T) {
	g, err := MeasurePeakGFLOPs(context.Background(), runtime.GOMAXPROCS(0))
	if err != nil || !(g > 0) || math.IsInf(g, 0) {
		t.Fatalf("MeasurePeakGFLOPs = %v, %v; want a positive rate", g, err)
	}
	if p := PeakPath(); p != Paths()[0] && !(p == PathGeneric && !slices.Contains(Paths(), PathGeneric)) {
		t.Errorf("PeakPath %q, want the widest path %q", p, Paths()[0])
	}
	t.Logf("%.1f GFLOP/s (%s, %d threads)", g, PeakPath(), runtime.GOMAXPROCS(0))
	if _, err := MeasurePeakGFLOPs(context.Background(), 0); err == nil {
		t.Error("0 threads accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MeasurePeakGFLOPs(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
}
