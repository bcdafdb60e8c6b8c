package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Sampling chooses the next token from logits. The zero value is greedy
// decoding (temperature 0), the default, so output is reproducible.
type Sampling struct {
	Temperature float32 // 0 = greedy (argmax, ties → lowest id)
	TopK        int     // keep the K most likely tokens (0 = off)
	TopP        float32 // keep the smallest set with cumulative probability ≥ TopP (0 or 1 = off)
	MinP        float32 // drop tokens with p < MinP·p(max) (0 = off)
	// RepeatPenalty > 1 divides positive logits (multiplies negative ones)
	// of tokens seen in the last RepeatWindow generated+prompt tokens
	// (the llama.cpp/ctrl convention). 0 or 1 = off.
	RepeatPenalty float32
	RepeatWindow  int    // default 64 when RepeatPenalty is set
	Seed          uint64 // fixes the random stream: equal seeds give equal output
}

// Validate reports a clear error for out-of-range settings.
func (s Sampling) Validate() error {
	switch {
	// An infinite temperature or penalty turns the logits into NaN or a
	// uniform draw: never what was meant (a float32 overflow, 1e39, lands here).
	case s.Temperature < 0 || math.IsNaN(float64(s.Temperature)) || math.IsInf(float64(s.Temperature), 0):
		return fmt.Errorf("temperature %g must be finite and ≥ 0", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("top-k %d must be ≥ 0", s.TopK)
	case s.TopP < 0 || s.TopP > 1 || math.IsNaN(float64(s.TopP)):
		return fmt.Errorf("top-p %g must be in [0, 1]", s.TopP)
	case s.MinP < 0 || s.MinP > 1 || math.IsNaN(float64(s.MinP)):
		return fmt.Errorf("min-p %g must be in [0, 1]", s.MinP)
	case s.RepeatPenalty < 0 || math.IsNaN(float64(s.RepeatPenalty)) || math.IsInf(float64(s.RepeatPenalty), 0):
		return fmt.Errorf("repeat penalty %g must be finite and ≥ 0", s.RepeatPenalty)
	case s.RepeatWindow < 0:
		return fmt.Errorf("repeat window %d must be ≥ 0", s.RepeatWindow)
	}
	return nil
}

// Sampler applies a Sampling to successive logits. It owns its random
// stream and scratch space; one Sampler serves one generation at a time.
type Sampler struct {
	opt  Sampling
	rng  *rand.Rand
	cand []candidate
}

type candidate struct {
	id    int32
	logit float32
	p     float64
}

// NewSampler returns a sampler seeded from opt.Seed.
func NewSampler(opt Sampling) *Sampler {
	if opt.RepeatPenalty > 0 && opt.RepeatPenalty != 1 && opt.RepeatWindow == 0 {
		opt.RepeatWindow = 64
	}
	return &Sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))}
}

// Sample picks a token. history is the sequence so far (prompt and
// generated); only its last RepeatWindow entries matter. logits is modified
// in place by the repetition penalty.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	ApplyRepeatPenalty(logits, history, s.opt.RepeatPenalty, s.opt.RepeatWindow)
	if s.opt.Temperature == 0 {
		return Argmax(logits)
	}
	s.cand = s.cand[:0]
	for i, l := range logits {
		if !math.IsInf(float64(l), -1) {
			s.cand = append(s.cand, candidate{id: int32(i), logit: l})
		}
	}
	c := s.cand
	if len(c) == 0 {
		return Argmax(logits)
	}
	sort.Slice(c, func(i, j int) bool {
		if c[i].logit != c[j].logit {
			return c[i].logit > c[j].logit
		}
		return c[i].id < c[j].id
	})
	c = TopK(c, s.opt.TopK)
	softmax(c, s.opt.Temperature)
	c = MinP(c, s.opt.MinP)
	c = TopP(c, s.opt.TopP)
	// draw from the renormalized survivors
	var total float64
	for _, x := range c {
		total += x.p
	}
	r := s.rng.Float64() * total
	for _, x := range c {
		r -= x.p
		if r < 0 {
			return x.id
		}
	}
	return c[len(c)-1].id
}

// draw is the uniform number in [0, 1) the next non-greedy Sample would
// use, for a TokenPicker that samples on the device (greedy draws nothing).
func (s *Sampler) draw() float64 {
	if s.opt.Temperature == 0 {
		return 0
	}
	return s.rng.Float64()
}

// Argmax returns the index of the largest logit (ties → lowest index).
func Argmax(logits []float32) int32 {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// ApplyRepeatPenalty penalizes every distinct token in the last window
// entries of history: positive logits are divided by penalty, negative ones
// multiplied (so the penalty always lowers the token's probability).
func ApplyRepeatPenalty(logits []float32, history []int32, penalty float32, window int) {
	if penalty == 0 || penalty == 1 || window <= 0 {
		return
	}
	if len(history) > window {
		history = history[len(history)-window:]
	}
	seen := make(map[int32]bool, len(history))
	for _, id := range history {
		if id < 0 || int(id) >= len(logits) || seen[id] {
			continue
		}
		seen[id] = true
		if logits[id] > 0 {
			logits[id] /= penalty
		} else {
			logits[id] *= penalty
		}
	}
}

// TopK keeps the first k of c (sorted by descending logit); k ≤ 0 keeps all.
func TopK(c []candidate, k int) []candidate {
	if k > 0 && k < len(c) {
		return c[:k]
	}
	return c
}

// softmax fills p = softmax(logit / temperature) over c.
func softmax(c []candidate, temperature float32) {
	m := float64(c[0].logit)
	var sum float64
	for i := range c {
		c[i].p = math.Exp((float64(c[i].logit) - m) / float64(temperature))
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
}

// MinP drops candidates whose probability is below minP times the best
// one's (c sorted descending, p filled).
func MinP(c []candidate, minP float32) []candidate {
	if minP <= 0 {
		return c
	}
	cut := float64(minP) * c[0].p
	n := 1
	for n < len(c) && c[n].p >= cut {
		n++
	}
	return c[:n]
}

// TopP keeps the smallest prefix whose cumulative probability reaches topP.
func TopP(c []candidate, topP float32) []candidate {
	if topP <= 0 || topP >= 1 {
		return c
	}
	var total, cum float64
	for _, x := range c {
		total += x.p
	}
	for i, x := range c {
		cum += x.p
		if cum >= float64(topP)*total {
			return c[:i+1]
		}
	}
	return c
}
