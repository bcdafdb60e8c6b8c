package vlmrt_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt"
)

func batchRun(t *testing.T, b *vlmrt.Batch, req vlmrt.Request) *vlmrt.Response {
	t.Helper()
	var last vlmrt.Token
	r, err := b.GenerateFunc(context.Background(), req, func(tok vlmrt.Token) error { last = tok; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !last.End || last.Usage == nil || last.Usage.CompletionTokens != len(r.Tokens) {
		t.Fatalf("the last token %+v does not end the stream of %d tokens", last, len(r.Tokens))
	}
	return r
}

// TestBatchMatchesSoloRuns: requests decoded together in one batch, greedy
// and seeded sampling, with and without an image, each get exactly the
// tokens of their own Model.Generate; more requests than slots wait.
func TestBatchMatchesSoloRuns(t *testing.T) {
	m := model(t)
	var reqs []vlmrt.Request
	for i, msg := range []vlmrt.Message{imageMsg, vlmrt.User(vlmrt.Text("Hello")), vlmrt.User(vlmrt.Text("Count to five.")), imageMsg, vlmrt.User(vlmrt.Text("Why?"))} {
		g := vlmrt.GenerateOptions{MaxTokens: 6 + 3*i}
		if i%2 == 1 {
			g.Sampling = vlmrt.Sampling{Temperature: 0.9, TopP: 0.9, Seed: uint64(i)}
		}
		reqs = append(reqs, vlmrt.Request{Messages: []vlmrt.Message{msg}, GenerateOptions: g})
	}
	want := make([]*vlmrt.Response, len(reqs))
	for i, r := range reqs {
		var err error
		if want[i], err = m.Generate(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	b := m.NewBatch(3)
	defer b.Close()
	got := make([]*vlmrt.Response, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { got[i] = batchRun(t, b, r) })
	}
	wg.Wait()
	for i := range reqs {
		if !slices.Equal(got[i].Tokens, want[i].Tokens) || got[i].Text != want[i].Text || got[i].FinishReason != want[i].FinishReason {
			t.Errorf("request %d: batched %v %q (%s), solo %v %q (%s)", i, got[i].Tokens, got[i].Text, got[i].FinishReason, want[i].Tokens, want[i].Text, want[i].FinishReason)
		}
	}
}

// TestBatchPrefixReuse: a request extending an earlier one (the reply
// and a new question) prefills only its new tokens and answers as a cold
// run; the same text with another image reuses nothing from the image on.
func TestBatchPrefixReuse(t *testing.T) {
	m := model(t)
	b := m.NewBatch(1)
	defer b.Close()
	g := vlmrt.GenerateOptions{MaxTokens: 8}
	first := vlmrt.Request{Messages: []vlmrt.Message{imageMsg}, GenerateOptions: g}
	r1 := batchRun(t, b, first)
	if c := cached(r1); c != 0 {
		t.Fatalf("the first request reused %d tokens", c)
	}
	second := vlmrt.Request{Messages: []vlmrt.Message{imageMsg, {Role: "assistant", Parts: []vlmrt.Part{vlmrt.Text(r1.Text)}}, vlmrt.User(vlmrt.Text("And the colours?"))}, GenerateOptions: g}
	r2 := batchRun(t, b, second)
	cold, err := m.Generate(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	if c := cached(r2); c < r1.Stats.PromptTokens || r2.Stats.PrefillTokens != r2.Stats.PromptTokens-c {
		t.Fatalf("the second request reused %d tokens and prefilled %d of %d; want at least the first prompt's %d reused", c, r2.Stats.PrefillTokens, r2.Stats.PromptTokens, r1.Stats.PromptTokens)
	}
	if !slices.Equal(r2.Tokens, cold.Tokens) {
		t.Fatalf("with reuse %v, cold %v", r2.Tokens, cold.Tokens)
	}
	other := vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.ImageFile("testdata/tiny-a/golden/image2.png"), vlmrt.Text("Describe this image."))}, GenerateOptions: g}
	r3 := batchRun(t, b, other)
	cold3, err := m.Generate(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	// The image follows "<|im_start|>user\n<|vision_start|>": those are reused, nothing after.
	if c := cached(r3); c != 4 {
		t.Fatalf("another image with the same text reused %d of %d tokens: want the 4 template tokens before the image", c, r3.Stats.PromptTokens)
	}
	t.Logf("reused: %d of %d tokens extending the first request, %d of %d with another image", cached(r2), r2.Stats.PromptTokens, cached(r3), r3.Stats.PromptTokens)
	if !slices.Equal(r3.Tokens, cold3.Tokens) {
		t.Fatalf("another image: with reuse %v, cold %v", r3.Tokens, cold3.Tokens)
	}
}

func cached(r *vlmrt.Response) int { return r.Stats.PromptTokens - r.Stats.PrefillTokens }

// TestBatchCancel: a cancelled request ends with ErrCancelled, no token is
// delivered after the cancel, and its slot is free for the next; a closed
// batch refuses requests.
func TestBatchCancel(t *testing.T) {
	m := model(t)
	b := m.NewBatch(1)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := b.GenerateFunc(ctx, vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.Text("Tell a long story."))}, GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 10000}},
		func(vlmrt.Token) error {
			if n++; n == 3 {
				cancel()
			}
			return nil
		})
	if !errors.Is(err, vlmrt.ErrCancelled) || n != 3 {
		t.Fatalf("cancelled after 3 tokens: %d tokens delivered (no callback may follow the cancel), %v", n, err)
	}
	batchRun(t, b, vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.Text("Hi"))}, GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 2}})
	b.Close()
	if _, err := b.GenerateFunc(context.Background(), vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.Text("Hi"))}}, func(vlmrt.Token) error { return nil }); !errors.Is(err, vlmrt.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
