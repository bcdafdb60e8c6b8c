package engine

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func cands(logits ...float32) []candidate {
	c := make([]candidate, len(logits))
	for i, l := range logits {
		c[i] = candidate{id: int32(i), logit: l}
	}
	return c
}

func ids(c []candidate) []int32 {
	var out []int32
	for _, x := range c {
		out = append(out, x.id)
	}
	return out
}

func TestArgmax(t *testing.T) {
	for _, c := range []struct {
		in   []float32
		want int32
	}{{[]float32{1, 3, 2}, 1}, {[]float32{5, 5, 1}, 0}, {[]float32{-1, -0.5, -2}, 1}} {
		if got := Argmax(c.in); got != c.want {
			t.Errorf("Argmax(%v) = %d want %d", c.in, got, c.want)
		}
	}
}

func TestFilters(t *testing.T) {
	// probabilities for logits ln(p): 0.5 0.25 0.15 0.1
	lp := []float32{float32(math.Log(0.5)), float32(math.Log(0.25)), float32(math.Log(0.15)), float32(math.Log(0.1))}
	tests := []struct {
		name string
		run  func([]candidate) []candidate
		want []int32
	}{
		{"topk 2", func(c []candidate) []candidate { return TopK(c, 2) }, []int32{0, 1}},
		{"topk 0 keeps all", func(c []candidate) []candidate { return TopK(c, 0) }, []int32{0, 1, 2, 3}},
		{"topp 0.7", func(c []candidate) []candidate { return TopP(c, 0.7) }, []int32{0, 1}},
		{"topp 0.75 exact", func(c []candidate) []candidate { return TopP(c, 0.75) }, []int32{0, 1}},
		{"topp 0.8", func(c []candidate) []candidate { return TopP(c, 0.8) }, []int32{0, 1, 2}},
		{"minp 0.25", func(c []candidate) []candidate { return MinP(c, 0.25) }, []int32{0, 1, 2}},
		{"minp 0.45", func(c []candidate) []candidate { return MinP(c, 0.45) }, []int32{0, 1}},
	}
	for _, tc := range tests {
		c := cands(lp...)
		softmax(c, 1)
		if got := ids(tc.run(c)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
}

func TestRepeatPenalty(t *testing.T) {
	l := []float32{2, -2, 1, 4}
	ApplyRepeatPenalty(l, []int32{3, 0, 1, 0}, 2, 3) // window keeps 0,1,0
	if !slices.Equal(l, []float32{1, -4, 1, 4}) {
		t.Fatalf("got %v", l)
	}
}

func TestSeededSampling(t *testing.T) {
	logits := make([]float32, 50)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i))) * 2
	}
	run := func(seed uint64) []int32 {
		s := NewSampler(Sampling{Temperature: 1, TopK: 40, TopP: 0.95, Seed: seed})
		var out []int32
		for i := 0; i < 40; i++ {
			out = append(out, s.Sample(slices.Clone(logits), out))
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Fatal("same seed must give the same tokens")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds should give different tokens")
	}
	if got := NewSampler(Sampling{}).Sample(slices.Clone(logits), nil); got != Argmax(logits) {
		t.Fatal("zero Sampling must be greedy")
	}
	// top-k 1 at any temperature is greedy
	if got := NewSampler(Sampling{Temperature: 5, TopK: 1, Seed: 3}).Sample(slices.Clone(logits), nil); got != Argmax(logits) {
		t.Fatal("top-k 1 must pick the argmax")
	}
}

func TestSamplingValidate(t *testing.T) {
	inf := float32(math.Inf(1))
	bad := []Sampling{{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {RepeatPenalty: -1}, {RepeatWindow: -2},
		{Temperature: inf}, {RepeatPenalty: inf}, {Temperature: float32(math.NaN())}}
	for _, s := range bad {
		if s.Validate() == nil {
			t.Errorf("%+v should be rejected", s)
		}
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{MaxTokens: -1}, "max tokens -1 must be ≥ 0"},
		{Options{PrefillChunk: -3}, "prefill chunk -3 must be ≥ 0"},
		{Options{Sampling: Sampling{Temperature: inf}}, "temperature +Inf must be finite"},
	} {
		if err := c.o.Validate(); err == nil || !errors.Is(err, ErrUnsupportedInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want ErrUnsupportedInput containing %q", c.o, err, c.want)
		}
	}
	if (Sampling{Temperature: 0.7, TopK: 20, TopP: 0.8}).Validate() != nil {
		t.Error("valid settings rejected")
	}
}

func TestStopMatcher(t *testing.T) {
	type step struct {
		piece, emit string
		stop        bool
	}
	cases := []struct {
		name  string
		stops []string
		steps []step
		flush string
	}{
		{"spans two tokens", []string{"END"}, []step{{"hello E", "hello ", false}, {"ND more", "", true}}, ""},
		{"false start released", []string{"END"}, []step{{"E", "", false}, {"X", "EX", false}}, ""},
		{"held at end flushed", []string{"stop"}, []step{{"a st", "a ", false}}, "st"},
		{"earliest of several", []string{"bb", "a"}, []step{{"xbba", "x", true}}, ""},
		{"no stops passthrough", nil, []step{{"abc", "abc", false}}, ""},
	}
	for _, c := range cases {
		m := NewStopMatcher(c.stops)
		for i, s := range c.steps {
			emit, stop := m.Push(s.piece)
			if emit != s.emit || stop != s.stop {
				t.Errorf("%s step %d: Push(%q) = %q,%v want %q,%v", c.name, i, s.piece, emit, stop, s.emit, s.stop)
			}
		}
		if f := m.Flush(); f != c.flush {
			t.Errorf("%s: Flush = %q want %q", c.name, f, c.flush)
		}
	}
}
