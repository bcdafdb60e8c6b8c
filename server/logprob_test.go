package server_test

import (
	"context"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/server"
)

// checkLogprobs checks a choice's logprobs against its text: the entries'
// tokens concatenate to it, and so do their bytes; each logprob is ≤ 0;
// top_logprobs hold k entries sorted most likely first, and the chosen
// token's logprob is its own among them; greedy chooses the top one.
func checkLogprobs(t *testing.T, label, text string, content []openai.ChatCompletionTokenLogprob, k int, greedy bool) {
	t.Helper()
	if len(content) == 0 {
		t.Fatalf("%s: no logprobs for %q", label, text)
	}
	var toks strings.Builder
	var raw []byte
	for i, e := range content {
		toks.WriteString(e.Token)
		for _, b := range e.Bytes {
			raw = append(raw, byte(b))
		}
		if e.Logprob > 0 {
			t.Fatalf("%s: entry %d logprob %v > 0", label, i, e.Logprob)
		}
		if len(e.TopLogprobs) != k {
			t.Fatalf("%s: entry %d has %d top logprobs, want %d", label, i, len(e.TopLogprobs), k)
		}
		found := false
		for j, c := range e.TopLogprobs {
			if c.Logprob > 0 || j > 0 && c.Logprob > e.TopLogprobs[j-1].Logprob {
				t.Fatalf("%s: entry %d top logprobs not sorted descending (or > 0): %+v", label, i, e.TopLogprobs)
			}
			if slices.Equal(c.Bytes, e.Bytes) {
				found = true
				if c.Logprob != e.Logprob {
					t.Fatalf("%s: entry %d logprob %v, %v among its top logprobs", label, i, e.Logprob, c.Logprob)
				}
			}
		}
		if k > 0 && greedy && (!slices.Equal(e.TopLogprobs[0].Bytes, e.Bytes) || e.TopLogprobs[0].Logprob != e.Logprob) {
			t.Fatalf("%s: greedy entry %d (%q %v) is not the most likely %+v", label, i, e.Token, e.Logprob, e.TopLogprobs[0])
		}
		if greedy && k > 0 && !found {
			t.Fatalf("%s: greedy entry %d not among its top logprobs", label, i)
		}
	}
	if toks.String() != text {
		t.Fatalf("%s: tokens concatenate to %q, the message is %q", label, toks.String(), text)
	}
	if string(raw) != text {
		t.Fatalf("%s: bytes concatenate to %q, the message is %q", label, raw, text)
	}
}

// TestLogprobsOfficialClient: logprobs and top_logprobs through the
// official client, non-streaming and streaming, greedy and sampled, with
// the default activations and the float32 reference ones.
func TestLogprobsOfficialClient(t *testing.T) {
	t.Run("default", func(t *testing.T) { testLogprobs(t, model(t), defaultLogprobTol) })
	m, err := vlmrt.Open(context.Background(), tinyA, vlmrt.WithActivations(vlmrt.ActivationsFloat32))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Run("f32", func(t *testing.T) { testLogprobs(t, m, 1e-4) })
}

// defaultLogprobTol bounds how far the streamed request's logprobs may
// drift from the first request's. The second request reuses the first's
// prefix cache and prefills the rest of its prompt in other chunks: with
// float32 activations that moves a logprob by rounding only (1e-4 bound);
// with int16 ones (the default on amd64) a value lying within a rounding
// of a quantization step's edge can move to the neighbouring int16 code,
// a change of 1.5e-5 of its block's largest value (measured: 1.5e-4 on a
// logprob), so the default is held to 1e-3.
var defaultLogprobTol = 1e-3

func testLogprobs(t *testing.T, m *vlmrt.Model, tol float64) {
	h, err := server.New(m, server.Options{ModelName: "tiny-a"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		temp   float64
		k      int64
		greedy bool
	}{{"greedy", 0, 5, true}, {"greedy top 0", 0, 0, true}, {"sampled", 1.2, 20, false}} {
		params := openai.ChatCompletionNewParams{
			Model:       "tiny-a",
			Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Name a color.")},
			MaxTokens:   openai.Int(12),
			Temperature: openai.Float(c.temp),
			Seed:        openai.Int(7),
			Logprobs:    openai.Bool(true),
			TopLogprobs: openai.Int(c.k),
		}
		resp, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		text, content := resp.Choices[0].Message.Content, resp.Choices[0].Logprobs.Content
		checkLogprobs(t, c.name, text, content, int(c.k), c.greedy)
		if len(content) != int(resp.Usage.CompletionTokens) && resp.Choices[0].FinishReason == "length" {
			t.Fatalf("%s: %d entries for %d tokens", c.name, len(content), resp.Usage.CompletionTokens)
		}

		stream := client.Chat.Completions.NewStreaming(ctx, params)
		var streamed []openai.ChatCompletionTokenLogprob
		var b strings.Builder
		for stream.Next() {
			ch := stream.Current()
			if len(ch.Choices) == 0 {
				continue
			}
			b.WriteString(ch.Choices[0].Delta.Content)
			streamed = append(streamed, ch.Choices[0].Logprobs.Content...)
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		checkLogprobs(t, c.name+" streaming", b.String(), streamed, int(c.k), c.greedy)
		if b.String() != text || len(streamed) != len(content) {
			t.Fatalf("%s: streamed %q with %d entries, non-streaming %q with %d", c.name, b.String(), len(streamed), text, len(content))
		}
		// The second request reuses the first one's cache (its prompt
		// prefilled in other chunks), so the numbers agree to rounding.
		for i := range streamed {
			if streamed[i].Token != content[i].Token || math.Abs(streamed[i].Logprob-content[i].Logprob) > tol {
				t.Fatalf("%s: streamed entry %d %+v, non-streaming %+v", c.name, i, streamed[i], content[i])
			}
		}
	}
	// Without logprobs there are none.
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "tiny-a", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Name a color.")}, MaxTokens: openai.Int(4)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Choices[0].Logprobs.Content); n != 0 || strings.Contains(resp.RawJSON(), `"logprobs":{`) {
		t.Fatalf("logprobs without asking: %s", resp.RawJSON())
	}
}

// TestLogprobsRefused: a bad top_logprobs is a 400 naming the field.
func TestLogprobsRefused(t *testing.T) {
	ts := newServer(t, server.Options{ModelName: "tiny-a"})
	const msgs = `"messages":[{"role":"user","content":"hi"}],"max_tokens":1`
	for _, body := range []string{
		`{` + msgs + `,"top_logprobs":3}`,
		`{` + msgs + `,"logprobs":false,"top_logprobs":3}`,
		`{` + msgs + `,"logprobs":true,"top_logprobs":21}`,
		`{` + msgs + `,"logprobs":true,"top_logprobs":-1}`,
	} {
		status, out := post(t, ts.URL, body)
		e, _ := out["error"].(map[string]any)
		if msg, _ := e["message"].(string); status != 400 || e["param"] != "top_logprobs" || !strings.Contains(msg, "top_logprobs") {
			t.Errorf("%s: status %d %v, want 400 naming top_logprobs", body, status, out)
		}
	}
	if status, out := post(t, ts.URL, `{`+msgs+`,"logprobs":true,"top_logprobs":20}`); status != 200 {
		t.Fatalf("top_logprobs 20: status %d %v", status, out)
	}
}
