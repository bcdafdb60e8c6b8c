//go:build !darwin

package metal

import (
	"context"
	"errors"
	"testing"
)

// Off darwin every entry point reports ErrUnavailable, on nil receivers and
// on zero values alike, and Release never panics: callers compile and run
// everywhere and fall back to the CPU at run time.
func TestUnavailableOffDarwin(t *testing.T) {
	ctx := context.Background()
	d, err := Open()
	if d != nil || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open() = %v, %v; want nil, ErrUnavailable", d, err)
	}
	for _, dev := range []*Device{nil, {}} {
		calls := map[string]func() error{
			"NewBuffer":           func() error { _, err := dev.NewBuffer(64); return err },
			"NewBufferFrom":       func() error { _, err := dev.NewBufferFrom([]byte{1, 2, 3}); return err },
			"NewLibrary":          func() error { _, err := dev.NewLibrary(ctx, "kernel void k() {}"); return err },
			"NewPipeline":         func() error { _, err := dev.NewPipeline(ctx, &Library{}, "k"); return err },
			"NewCommandQueue":     func() error { _, err := dev.NewCommandQueue(); return err },
			"NewRopeShiftBuffers": func() error { _, _, err := dev.NewRopeShiftBuffers(1<<30, 0); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Device(%v).%s: %v, want ErrUnavailable", dev, name, err)
			}
		}
		dev.Release()
	}
	for _, q := range []*CommandQueue{nil, {}} {
		b := fakeBuffer(4096)
		pipe := &Pipeline{id: 1, name: "k", maxThreads: 1024, simdWidth: 32}
		if err := q.Dispatch(ctx, pipe, Size{1, 1, 1}, Size{32, 1, 1}, BufferArg(0, b)); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Dispatch: %v, want ErrUnavailable", err)
		}
		q.Release()
	}
	for _, b := range []*Buffer{nil, {}} {
		b.Release()
		if b.Contents() != nil || b.Len() != 0 {
			t.Errorf("an empty buffer has %d bytes of contents", b.Len())
		}
		if _, err := View[float32](b); err == nil {
			t.Error("View of an empty buffer succeeded")
		}
	}
	for _, l := range []*Library{nil, {}} {
		l.Release()
		if l.Warnings() != "" {
			t.Error("warnings on an empty library")
		}
	}
	for _, p := range []*Pipeline{nil, {}} {
		p.Release()
		if p.Name() != "" || p.MaxTotalThreadsPerThreadgroup() != 0 || p.ThreadExecutionWidth() != 0 {
			t.Error("an empty pipeline reports properties")
		}
	}
	var nd *Device
	if nd.Name() != "" || nd.RecommendedMaxWorkingSetSize() != 0 || nd.MaxBufferLength() != 0 {
		t.Error("a nil device reports properties")
	}
}
