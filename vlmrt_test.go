package vlmrt_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt"
)

var (
	sharedOnce  sync.Once
	sharedModel *vlmrt.Model
	sharedErr   error
)

// model returns one tiny-a model shared by the tests, as an application
// shares one Model between conversations.
func model(t *testing.T) *vlmrt.Model {
	t.Helper()
	sharedOnce.Do(func() { sharedModel, sharedErr = vlmrt.Open(context.Background(), modelDir) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedModel
}

func collect(t *testing.T, c *vlmrt.Chat, msg vlmrt.Message) ([]int32, string) {
	t.Helper()
	var ids []int32
	var text strings.Builder
	for tok, err := range c.Send(context.Background(), msg) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
		text.WriteString(tok.Text)
	}
	return ids, text.String()
}

var imageMsg = vlmrt.User(vlmrt.ImageFile("testdata/tiny-a/golden/image1.png"), vlmrt.Text("Describe this image."))

// TestSecondTurnPrefillsOnlyNewTokens: turn two runs only its new tokens and
// continues exactly as a single-shot run of the whole conversation.
func TestSecondTurnPrefillsOnlyNewTokens(t *testing.T) {
	m := model(t)
	gen := vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 12})
	c := m.NewChat(gen)
	collect(t, c, imageMsg)
	afterTurn1 := len(c.Tokens())
	turn2, _ := collect(t, c, vlmrt.User(vlmrt.Text("What else do you notice?")))
	st := c.Stats()
	all := c.Tokens()
	newTokens := len(all) - len(turn2) - afterTurn1 + 1 // +1: turn one's last reply token runs in turn two
	if st.PrefillTokens != newTokens || st.PromptTokens != len(all)-len(turn2) {
		t.Fatalf("turn 2 prefilled %d tokens (prompt %d), want only the %d new ones", st.PrefillTokens, st.PromptTokens, newTokens)
	}
	// The same conversation as one prompt through the engine.
	e := vlmrt.EngineOf(m)
	im, err := imageForTest(e)
	if err != nil {
		t.Fatal(err)
	}
	prompt := all[:len(all)-len(turn2)]
	s := e.NewSession()
	var one []int32
	if _, err := s.Generate(context.Background(), runtimeInput(prompt, im), runtimeOpts(12), func(tok runtimeToken) bool {
		one = append(one, tok.ID)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one, turn2) {
		t.Fatalf("two-turn reply %v differs from the single-shot %v", turn2, one)
	}
}

func TestSeededSampling(t *testing.T) {
	m := model(t)
	run := func(seed uint64) []int32 {
		c := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 16, Sampling: vlmrt.Sampling{Temperature: 1.5, TopK: 50, TopP: 0.95, Seed: seed}}))
		ids, _ := collect(t, c, vlmrt.User(vlmrt.Text("Tell me a story.")))
		return ids
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different output: %v vs %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatalf("different seeds gave the same output %v", a)
	}
}

// TestStopStringAcrossTokens picks a stop string made of the end of one
// generated token and the start of the next; it must be caught and not emitted.
func TestStopStringAcrossTokens(t *testing.T) {
	m := model(t)
	tok := m.Tokenizer()
	c := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 16}))
	ids, full := collect(t, c, vlmrt.User(vlmrt.Text("Hello")))
	// find a boundary between two tokens with ASCII text on both sides
	var stop, before string
	for i := 1; i+1 < len(ids) && stop == ""; i++ {
		a, b := tok.Decode(ids[:i+1], true), tok.Decode(ids[:i+2], true)
		prev := tok.Decode(ids[:i], true)
		pa, pb := a[len(prev):], b[len(a):]
		if len(pa) >= 1 && len(pb) >= 1 && pa[len(pa)-1] < 0x80 && pb[0] < 0x80 {
			stop, before = pa[len(pa)-1:]+pb[:1], a[:len(a)-1]
		}
	}
	if stop == "" {
		t.Fatalf("no ASCII token boundary in %q", full)
	}
	if strings.Index(full, stop) < len(before) {
		before = full[:strings.Index(full, stop)] // an earlier occurrence stops first
	}
	c2 := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 16, Stop: []string{stop}}))
	_, got := collect(t, c2, vlmrt.User(vlmrt.Text("Hello")))
	if got != before || c2.Stats().FinishReason != "stop" {
		t.Fatalf("stop %q: got %q (%s), want %q", stop, got, c2.Stats().FinishReason, before)
	}
}

func TestCancelKeepsPartialReply(t *testing.T) {
	m := model(t)
	c := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 20}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var gotErr error
	for _, err := range c.Send(ctx, vlmrt.User(vlmrt.Text("Hello"))) {
		if err != nil {
			gotErr = err
			break
		}
		n++
		if n == 3 {
			cancel()
		}
	}
	if n != 3 || !errors.Is(gotErr, vlmrt.ErrCancelled) || !errors.Is(gotErr, context.Canceled) {
		t.Fatalf("got %d tokens and error %v; want 3 and a cancellation", n, gotErr)
	}
	if c.Stats().GeneratedTokens != 3 || c.Stats().FinishReason != "cancelled" {
		t.Fatalf("stats %+v", c.Stats())
	}
	// the chat stays usable and the partial reply is part of the history
	before := len(c.Tokens())
	ids, _ := collect(t, c, vlmrt.User(vlmrt.Text("Go on")))
	if len(ids) == 0 || len(c.Tokens()) <= before {
		t.Fatal("chat unusable after cancellation")
	}
	// breaking out of the loop stops generation too
	c2 := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 20}))
	k := 0
	for range c2.Send(context.Background(), vlmrt.User(vlmrt.Text("Hello"))) {
		k++
		if k == 2 {
			break
		}
	}
	if c2.Stats().GeneratedTokens != 2 {
		t.Fatalf("break: generated %d tokens", c2.Stats().GeneratedTokens)
	}
}

func TestContextOverflow(t *testing.T) {
	m, err := vlmrt.Open(context.Background(), modelDir, vlmrt.WithContextLength(64))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 100}))
	for _, err := range c.Send(context.Background(), imageMsg) {
		if !errors.Is(err, vlmrt.ErrContextOverflow) {
			t.Fatalf("want ErrContextOverflow, got %v", err)
		}
	}
	if len(c.Tokens()) != 0 {
		t.Fatal("a refused turn must leave the chat unchanged")
	}
	ids, _ := collect(t, c, vlmrt.User(vlmrt.Text("Hi")))
	if st := c.Stats(); st.FinishReason != "context" || len(c.Tokens()) != 64 {
		t.Fatalf("generation should stop at the context limit: %d tokens, %+v", len(ids), st)
	}
}

// TestConcurrentChats: one Model, many Chats at once (run with -race).
func TestConcurrentChats(t *testing.T) {
	m := model(t)
	want, _ := collect(t, m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 8})), vlmrt.User(vlmrt.Text("Hello")))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 8}))
			var got []int32
			for tok, err := range c.Send(context.Background(), vlmrt.User(vlmrt.Text("Hello"))) {
				if err != nil {
					errs <- err
					return
				}
				got = append(got, tok.ID)
			}
			if !slices.Equal(got, want) {
				errs <- errors.New("concurrent chat produced different tokens")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestClosedAndBadInput(t *testing.T) {
	m, err := vlmrt.Open(context.Background(), modelDir, vlmrt.WithoutVision())
	if err != nil {
		t.Fatal(err)
	}
	c := m.NewChat()
	for _, err := range c.Send(context.Background(), vlmrt.User()) {
		if !errors.Is(err, vlmrt.ErrUnsupportedInput) {
			t.Fatalf("empty message: %v", err)
		}
	}
	for _, err := range c.Send(context.Background(), imageMsg) {
		if !errors.Is(err, vlmrt.ErrUnsupportedInput) {
			t.Fatalf("image without vision: %v", err)
		}
	}
	if _, err := m.Generate(context.Background(), vlmrt.Request{}); !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Fatalf("empty request: %v", err)
	}
	m.Close()
	for _, err := range c.Send(context.Background(), vlmrt.User(vlmrt.Text("hi"))) {
		if !errors.Is(err, vlmrt.ErrClosed) {
			t.Fatalf("closed: %v", err)
		}
	}
	if _, err := vlmrt.Open(context.Background(), modelDir, vlmrt.WithBackend(vlmrt.BackendMetal)); !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Fatalf("metal backend: %v", err)
	}
	c2 := model(t).NewChat()
	for _, err := range c2.Send(context.Background(), vlmrt.User(vlmrt.ImageFile("testdata/nope.png"))) {
		// A missing file is a path problem, said as such (not "unsupported input").
		if !errors.Is(err, vlmrt.ErrImageFile) || errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), "nope.png does not exist") {
			t.Fatalf("missing image: %v", err)
		}
	}
}
