//go:build (darwin || linux) && (amd64 || arm64)

package coreai

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestBridgeErrorPropagation injects a failure into each ABI function and
// checks the Go error names the call and carries the bridge's message.
func TestBridgeErrorPropagation(t *testing.T) {
	ctx := context.Background()
	logits := make([]float32, fakeVocab)
	for _, tc := range []struct {
		fn, call string
		run      func(s *Session) error
	}{
		{"encode_image", "vlmrt_coreai_encode_image", func(s *Session) error { return s.EncodeImage(ctx, testPatches()) }},
		{"set_static", "vlmrt_coreai_set_static", func(s *Session) error { return s.SetStatic(ctx, Static{RopeShiftStart: 7}) }},
		{"get_static", "vlmrt_coreai_get_static", func(s *Session) error { _, err := s.Static(ctx); return err }},
		{"step", "vlmrt_coreai_step", func(s *Session) error { return s.Step(ctx, []int32{1}, 0, logits) }},
		{"reset", "vlmrt_coreai_reset", func(s *Session) error { return s.Reset(ctx) }},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			f := newFake(t)
			s := f.open(true)
			msg := "MTLCommandBuffer failed in " + tc.fn
			f.fail(tc.fn, statusError, msg)
			err := tc.run(s)
			var be *BridgeError
			if !errors.As(err, &be) || be.Call != tc.call || be.Status != statusError || be.Message != msg {
				t.Fatalf("got %#v, want a BridgeError from %s with %q", err, tc.call, msg)
			}
			if want := "coreai: " + tc.call + ": " + msg + " (status 1: Core AI error)"; err.Error() != want {
				t.Fatalf("Error() = %q, want %q", err, want)
			}
			if errors.Is(err, ErrContract) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("a Core AI error matches a sentinel it should not: %v", err)
			}
		})
	}
}

// A failed step or set_static leaves the bridge in an unknown state: the
// session refuses further work until Reset.
func TestFailedStepNeedsReset(t *testing.T) {
	f := newFake(t)
	s := f.open(false)
	ctx := context.Background()
	logits := make([]float32, fakeVocab)
	must(t, s.Step(ctx, []int32{1}, 0, logits))
	f.fail("step", statusError, "GPU hang")
	if err := s.Step(ctx, []int32{2}, 1, logits); err == nil {
		t.Fatal("injected step failure not reported")
	}
	f.fail("", 0, "")
	err := s.Step(ctx, []int32{2}, 1, logits)
	if err == nil || !strings.Contains(err.Error(), "needs Reset") || !strings.Contains(err.Error(), "GPU hang") {
		t.Fatalf("step after a failed step = %v, want a 'needs Reset' error carrying the cause", err)
	}
	must(t, s.Reset(ctx))
	must(t, s.Step(ctx, []int32{2}, 0, logits))
	var m toy
	if want := m.step(textE(2), [3]int32{}); !slices.Equal(logits, want) {
		t.Fatalf("after Reset: logits[:4] = %v, want %v", logits[:4], want[:4])
	}
}

func TestBridgeErrorMessageEdges(t *testing.T) {
	f := newFake(t)
	s := f.open(false)
	ctx := context.Background()

	// Longer than the error buffer: truncated to errBufLen-1 bytes, no overrun.
	long := strings.Repeat("x", 3000)
	f.fail("reset", statusError, long)
	var be *BridgeError
	if err := s.Reset(ctx); !errors.As(err, &be) || be.Message != long[:errBufLen-1] {
		t.Fatalf("long message: got %d bytes, want %d", len(be.Message), errBufLen-1)
	}
	f.fail("", 0, "")

	// No message, unknown status.
	f.fail("reset", 42, "")
	err := s.Reset(ctx)
	if !errors.As(err, &be) || err.Error() != "coreai: vlmrt_coreai_reset: no message (status 42: unknown)" {
		t.Fatalf("empty message: %v", err)
	}

	// cString never reads past the buffer even without a terminator.
	if got := cString([]byte("abc")); got != "abc" {
		t.Fatalf("cString without NUL = %q", got)
	}
}

func TestCloseIdempotent(t *testing.T) {
	f := newFake(t)
	s := f.open(true)
	if f.live() != 1 {
		t.Fatalf("%d live handles, want 1", f.live())
	}
	must(t, s.Close())
	must(t, s.Close())
	if f.live() != 0 {
		t.Fatalf("%d live handles after Close, want 0", f.live())
	}
	closes := 0
	for _, l := range f.log() {
		if strings.HasPrefix(l, "close ") {
			closes++
		}
	}
	if closes != 1 {
		t.Fatalf("%d close calls reached the bridge, want 1", closes)
	}
	ctx := context.Background()
	logits := make([]float32, fakeVocab)
	for name, err := range map[string]error{
		"step":   s.Step(ctx, []int32{1}, 0, logits),
		"encode": s.EncodeImage(ctx, testPatches()),
		"static": s.SetStatic(ctx, Static{}),
		"reset":  s.Reset(ctx),
		"read":   func() error { _, err := s.Static(ctx); return err }(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}

	// A close the bridge reports as failed still frees the handle (the
	// ABI's rule) and is not retried.
	s2 := f.open(false)
	f.fail("close", statusError, "teardown incomplete")
	var be *BridgeError
	if err := s2.Close(); !errors.As(err, &be) || be.Call != "vlmrt_coreai_close" {
		t.Fatalf("Close with failing close = %v", err)
	}
	must(t, s2.Close())
	if f.live() != 0 {
		t.Fatalf("%d live handles, want 0", f.live())
	}
}

// TestConcurrentSessions steps several sessions in parallel (the ABI lets
// different handles run concurrently) and one session from several
// goroutines (its mutex serializes them); every logit is checked.
func TestConcurrentSessions(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	const sessions, steps = 4, 100
	var wg sync.WaitGroup
	errs := make(chan error, sessions+4)
	for g := 0; g < sessions; g++ {
		s := f.open(false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m toy
			logits := make([]float32, fakeVocab)
			for pos := int32(0); pos < steps; pos++ {
				id := int32(g*100) + pos
				if err := s.Step(ctx, []int32{id}, pos, logits); err != nil {
					errs <- err
					return
				}
				if want := m.step(textE(id), [3]int32{pos, pos, pos}); !slices.Equal(logits, want) {
					errs <- errors.New("session logits differ from the toy model: state crossed between handles")
					return
				}
			}
		}()
	}
	// One shared session: one goroutine steps while others read its static
	// inputs and length; the session's mutex keeps the bridge calls apart
	// (the race detector checks the Go side).
	shared := f.open(true)
	wg.Add(1)
	go func() {
		defer wg.Done()
		logits := make([]float32, fakeVocab)
		for pos := int32(0); pos < steps; pos++ {
			if err := shared.Step(ctx, []int32{pos}, pos, logits); err != nil {
				errs <- err
				return
			}
		}
	}()
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := shared.Static(ctx); err != nil {
					errs <- err
					return
				}
				if n := shared.Len(); n < 0 || n > steps {
					errs <- errors.New("shared session Len out of range")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if shared.Len() != steps {
		t.Fatalf("shared session Len = %d, want %d", shared.Len(), steps)
	}
}
