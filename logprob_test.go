package vlmrt_test

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// greedySteps runs prompt greedily on a fresh engine session for n
// tokens and returns them with the log-softmax (float64) of the logits
// each was drawn from (the engine's own rows, before any choice).
func greedySteps(t *testing.T, m *vlmrt.Model, prompt []int32, n int) ([]int32, [][]float64) {
	t.Helper()
	ctx := context.Background()
	s := vlmrt.EngineOf(m).NewSession()
	defer s.Close()
	// Logprobs keeps every step's logits row on the host (a GPU backend
	// would otherwise pick greedy tokens on the device, leaving
	// LastLogits stale).
	turn, err := s.Start(ctx, engine.Input{IDs: prompt}, engine.Options{MaxTokens: n, Logprobs: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int32
	var rows [][]float64
	for {
		logits := s.LastLogits()
		var sum float64
		for _, l := range logits {
			sum += math.Exp(float64(l))
		}
		row := make([]float64, len(logits))
		for i, l := range logits {
			row[i] = float64(l) - math.Log(sum)
		}
		tok, err := turn.Emit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids, rows = append(ids, tok.ID), append(rows, row)
		if tok.End {
			return ids, rows
		}
		turn.Step(ctx)
	}
}

func logprobPrompt(t *testing.T, m *vlmrt.Model) []int32 {
	t.Helper()
	p, err := vlmrt.EngineOf(m).Tokenizer.EncodeChat([]tokenizer.Message{tokenizer.TextMessage("user", "Name a color.")},
		tokenizer.ChatOptions{AddGenerationPrompt: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p.IDs
}

// checkStep compares a reply token's logprobs with the expected
// log-softmax want.
func checkStep(t *testing.T, tok vlmrt.Token, want []float64, k int) {
	t.Helper()
	if d := math.Abs(tok.Logprob - want[tok.ID]); d > 1e-5 {
		t.Fatalf("token %d: logprob %v, the engine's logits give %v (diff %g)", tok.ID, tok.Logprob, want[tok.ID], d)
	}
	order := make([]int, len(want))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return want[order[a]] > want[order[b]] })
	if len(tok.TopLogprobs) != k {
		t.Fatalf("%d top logprobs, want %d", len(tok.TopLogprobs), k)
	}
	tk := vlmrt.EngineOf(model(t)).Tokenizer
	for i, c := range tok.TopLogprobs {
		if int(c.ID) != order[i] || math.Abs(c.Logprob-want[c.ID]) > 1e-5 {
			t.Fatalf("top %d: %+v, want id %d logprob %v", i, c, order[i], want[order[i]])
		}
		if c.Text != string(tk.DecodeBytes([]int32{c.ID}, false)) {
			t.Fatalf("top %d: text %q is not the token's bytes", i, c.Text)
		}
	}
	if string(tok.Bytes) != string(tk.DecodeBytes([]int32{tok.ID}, true)) {
		t.Fatalf("token bytes %q are not token %d's", tok.Bytes, tok.ID)
	}
}

// TestLogprobsExact: the first token's logprob and top logprobs equal the
// log-softmax of the engine's logits, greedy or sampled with penalties
// (the model's distribution, before temperature and penalties), through
// GenerateIDs (a Chat turn) and a Batch.
func TestLogprobsExact(t *testing.T) {
	m := model(t)
	ctx := context.Background()
	prompt := logprobPrompt(t, m)
	greedy, rows := greedySteps(t, m, prompt, 4)
	want := rows[0]
	for _, samp := range []vlmrt.Sampling{{}, {Temperature: 1.7, TopP: 0.9, RepeatPenalty: 1.5, Seed: 3}} {
		var toks []vlmrt.Token
		_, err := m.GenerateIDs(ctx, vlmrt.RawRequest{IDs: prompt, GenerateOptions: vlmrt.GenerateOptions{
			Sampling: samp, MaxTokens: 4, Logprobs: true, TopLogprobs: 20}}, func(tok vlmrt.Token) error {
			toks = append(toks, tok)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkStep(t, toks[0], want, 20)
		if samp.Temperature == 0 && toks[0].ID != toks[0].TopLogprobs[0].ID {
			t.Fatalf("greedy chose %d, the most likely is %d", toks[0].ID, toks[0].TopLogprobs[0].ID)
		}
		for _, tok := range toks {
			if tok.Logprob > 0 || len(tok.TopLogprobs) != 20 {
				t.Fatalf("token %+v", tok)
			}
		}
	}

	// Greedy with a repetition penalty: while it chooses the plain greedy
	// tokens, each step's logprobs are the unpenalized model's (the
	// penalty acts on the tokens already in the reply, so a row taken
	// after it would differ).
	var toks []vlmrt.Token
	if _, err := m.GenerateIDs(ctx, vlmrt.RawRequest{IDs: prompt, GenerateOptions: vlmrt.GenerateOptions{
		Sampling: vlmrt.Sampling{RepeatPenalty: 2, RepeatWindow: 4}, MaxTokens: 4, Logprobs: true, TopLogprobs: 20}}, func(tok vlmrt.Token) error {
		toks = append(toks, tok)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	same := 0
	for same < len(toks) && same < len(greedy) && toks[same].ID == greedy[same] {
		checkStep(t, toks[same], rows[same], 20)
		same++
	}
	if same < 2 {
		t.Fatalf("greedy %v; the penalized run chose %d tokens alike, too few to compare", greedy, same)
	}

	// The batch (the server's path) reports the same numbers; a request
	// without logprobs gets none.
	b := m.NewBatch(2)
	defer b.Close()
	req := vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.Text("Name a color."))},
		GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 3, Logprobs: true, TopLogprobs: 5}}
	var first *vlmrt.Token
	if _, err := b.GenerateFunc(ctx, req, func(tok vlmrt.Token) error {
		if first == nil {
			first = &tok
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkStep(t, *first, want, 5)

	// Two requests decoding together (one batched step for both) get
	// every step's numbers. A fresh batch: a slot's cached prefix would be
	// reused, its prompt prefilled in other chunks (equal to rounding).
	b2 := m.NewBatch(2)
	defer b2.Close()
	var wg sync.WaitGroup
	got := make([][]vlmrt.Token, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Go(func() {
			r := req
			r.MaxTokens = len(greedy)
			_, errs[i] = b2.GenerateFunc(ctx, r, func(tok vlmrt.Token) error {
				got[i] = append(got[i], tok)
				return nil
			})
		})
	}
	wg.Wait()
	for i, toks := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if len(toks) != len(greedy) {
			t.Fatalf("batched request %d: %d tokens, want %d", i, len(toks), len(greedy))
		}
		for j, tok := range toks {
			if tok.ID != greedy[j] {
				t.Fatalf("batched request %d token %d: %d, greedy %d", i, j, tok.ID, greedy[j])
			}
			checkStep(t, tok, rows[j], 5)
		}
	}
	req.Logprobs, req.TopLogprobs = false, 0
	if _, err := b.GenerateFunc(ctx, req, func(tok vlmrt.Token) error {
		if tok.TopLogprobs != nil || tok.Logprob != 0 || tok.Bytes != nil {
			t.Fatalf("logprobs without asking: %+v", tok)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestLogprobsOptionsRefused(t *testing.T) {
	m := model(t)
	for _, g := range []vlmrt.GenerateOptions{{TopLogprobs: 2}, {Logprobs: true, TopLogprobs: 21}, {Logprobs: true, TopLogprobs: -1}} {
		_, err := m.Generate(context.Background(), vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.Text("hi"))}, GenerateOptions: g})
		if !errors.Is(err, vlmrt.ErrUnsupportedInput) {
			t.Fatalf("%+v: %v, want ErrUnsupportedInput", g, err)
		}
	}
}
