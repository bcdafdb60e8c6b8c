package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/server"
)

const tinyA = "../testdata/tiny-a"

var (
	once     sync.Once
	shared   *vlmrt.Model
	sharedEr error
)

func model(t testing.TB) *vlmrt.Model {
	t.Helper()
	once.Do(func() { shared, sharedEr = vlmrt.Open(context.Background(), tinyA) })
	if sharedEr != nil {
		t.Fatal(sharedEr)
	}
	return shared
}

func newServer(t *testing.T, opt server.Options) *httptest.Server {
	t.Helper()
	h, err := server.New(model(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func dataURL(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

// reference is the same conversation through the library directly, as
// `vlmrt run` answers it.
func reference(t *testing.T, withImage bool, maxTokens int) *vlmrt.Response {
	t.Helper()
	parts := []vlmrt.Part{vlmrt.Text("Describe this image.")}
	if withImage {
		parts = append([]vlmrt.Part{vlmrt.ImageFile(tinyA + "/golden/image1.png")}, parts...)
	}
	r, err := model(t).Generate(context.Background(), vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(parts...)},
		GenerateOptions: vlmrt.GenerateOptions{MaxTokens: maxTokens}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOfficialClient: the official OpenAI Go client, non-streaming and
// streaming, with an image as a data URL: the same text as the library,
// usage and finish reason as OpenAI reports them.
func TestOfficialClient(t *testing.T) {
	ts := newServer(t, server.Options{ModelName: "tiny-a"})
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	ref := reference(t, true, 12)
	params := openai.ChatCompletionNewParams{
		Model: "tiny-a",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
				openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: dataURL(t, tinyA+"/golden/image1.png")}),
				openai.TextContentPart("Describe this image."),
			}),
		},
		MaxTokens: openai.Int(12),
	}
	resp, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != ref.Text {
		t.Fatalf("non-streaming %q, library %q", got, ref.Text)
	}
	if resp.Usage.PromptTokens != int64(ref.Stats.PromptTokens) || resp.Usage.CompletionTokens != 12 || resp.Choices[0].FinishReason != "length" {
		t.Fatalf("usage %+v finish %q; want prompt %d, completion 12, length", resp.Usage, resp.Choices[0].FinishReason, ref.Stats.PromptTokens)
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != ref.Text {
		t.Fatalf("streaming %q, library %q", got, ref.Text)
	}
	if acc.Usage.CompletionTokens != 12 || acc.Choices[0].FinishReason != "length" {
		t.Fatalf("streamed usage %+v finish %q", acc.Usage, acc.Choices[0].FinishReason)
	}
	models, err := client.Models.List(context.Background())
	if err != nil || len(models.Data) != 1 || models.Data[0].ID != "tiny-a" {
		t.Fatalf("models: %+v %v", models, err)
	}
	// an unknown model is a 404 the client reports as such
	params.Model = "gpt-9"
	_, err = client.Chat.Completions.New(context.Background(), params)
	var apiErr *openai.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("unknown model: %v", err)
	}
}

func errorsAs(err error, target **openai.Error) bool {
	for err != nil {
		if e, ok := err.(*openai.Error); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// pngClaiming is a PNG header saying w×h pixels (no pixel data).
func pngClaiming(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestHostileRequests: each gets a 4xx in OpenAI's error shape with a
// message naming the problem, and the server keeps serving.
func TestHostileRequests(t *testing.T) {
	ts := newServer(t, server.Options{ModelName: "tiny-a", MaxImages: 8})
	user := func(content string) string {
		return `{"model":"tiny-a","messages":[{"role":"user","content":` + content + `}],"max_tokens":2}`
	}
	img := func(url string) string {
		return user(`[{"type":"image_url","image_url":{"url":"` + url + `"}},{"type":"text","text":"hi"}]`)
	}
	many := make([]string, 500)
	for i := range many {
		many[i] = `{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}`
	}
	huge := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngClaiming(100000, 100000))
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"malformed JSON", `{"model":`, 400, "not valid JSON"},
		{"wrong type", `{"model":"tiny-a","messages":"hi"}`, 400, "messages"},
		{"max_tokens -1", `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"max_tokens":-1}`, 400, "max_tokens must be at least 1"},
		{"n=2", `{"model":"tiny-a","messages":[{"role":"user","content":"hi"}],"n":2}`, 400, "n = 2"},
		{"unknown model", `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, 404, "does not exist"},
		{"no messages", `{"model":"tiny-a","messages":[]}`, 400, "at least one message"},
		{"bad role", `{"messages":[{"role":"wizard","content":"hi"}]}`, 400, "role \"wizard\""},
		{"presence penalty", `{"messages":[{"role":"user","content":"hi"}],"presence_penalty":1}`, 400, "presence_penalty"},
		{"temperature 5", `{"messages":[{"role":"user","content":"hi"}],"temperature":5}`, 400, "temperature"},
		{"stop of numbers", `{"messages":[{"role":"user","content":"hi"}],"stop":[1,2]}`, 400, "stop must be"},
		{"non-image data URL", img("data:text/plain;base64,aGVsbG8="), 400, "not an image"},
		{"not base64", img("data:image/png;base64,@@@"), 400, "not valid base64"},
		{"garbage image", img("data:image/png;base64,aGVsbG8gd29ybGQ="), 400, "image"},
		{"100000x100000 PNG", img(huge), 413, "pixel limit"},
		{"remote image", img("http://127.0.0.1:1/x.png"), 400, "remote image URLs are disabled"},
		{"500 images", user("[" + strings.Join(many, ",") + "]"), 400, "more than 8 images"},
		{"unknown fields", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":1,"frobnicate":true}`, 200, ""},
	} {
		status, out := post(t, ts.URL, c.body)
		if status != c.status {
			t.Errorf("%s: status %d (%v), want %d", c.name, status, out, c.status)
			continue
		}
		if c.want == "" {
			continue
		}
		e, _ := out["error"].(map[string]any)
		if msg, _ := e["message"].(string); !strings.Contains(msg, c.want) || e["type"] == nil {
			t.Errorf("%s: error %v, want a message containing %q", c.name, out, c.want)
		}
	}
	// a 50 MB body
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", io.MultiReader(strings.NewReader(`{"messages":[{"role":"user","content":"`), strings.NewReader(strings.Repeat("a", 50<<20)), strings.NewReader(`"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("50 MB body: status %d, want 413", resp.StatusCode)
	}
	// still serving
	if status, _ := post(t, ts.URL, user(`"hi"`)); status != 200 {
		t.Fatalf("after the hostile requests: status %d", status)
	}
}

// TestDisconnectCancels: with one slot, a streaming client that goes away
// cancels its (very long) generation: the slot frees and the next request
// is answered at once instead of after the whole story.
func TestDisconnectCancels(t *testing.T) {
	ts := newServer(t, server.Options{Parallel: 1, MaxTokens: 100000})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions",
		strings.NewReader(`{"messages":[{"role":"user","content":"Tell a long story."}],"max_tokens":100000,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(resp.Body).ReadString('\n'); !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first stream line %q", line)
	}
	cancel()
	resp.Body.Close()
	start := time.Now()
	status, out := post(t, ts.URL, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":1}`)
	if status != 200 {
		t.Fatalf("after the disconnect: %d %v", status, out)
	}
	// The story would take minutes; the freed slot answers at once.
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the next request was answered %v after the disconnect", d)
	}
}

// TestQueueLimit: one slot and the default queue of 16: of 20 requests
// beside a running one, those beyond the queue are refused with 429.
func TestQueueLimit(t *testing.T) {
	h, err := server.New(model(t), server.Options{Parallel: 1, Queue: 0, MaxTokens: 100000})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	if got := h.Options().Queue; got != 16 {
		t.Fatalf("queue 0 should take the default 16, got %d", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := make(chan struct{})
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions",
			strings.NewReader(`{"messages":[{"role":"user","content":"story"}],"max_tokens":100000,"stream":true}`))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			bufio.NewReader(resp.Body).ReadString('\n')
			close(running)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-running
	var codes []int
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx2, c2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer c2()
			req, _ := http.NewRequestWithContext(ctx2, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":1}`))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				mu.Lock()
				codes = append(codes, resp.StatusCode)
				mu.Unlock()
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if !slices.Contains(codes, 429) {
		t.Fatalf("20 requests beside a running one with a queue of 16: statuses %v, want some 429", codes)
	}
}

// TestConcurrentClients: more clients than slots at once, streaming and
// not, greedy and seeded sampling, through the official client: each gets
// exactly the text and usage of its own solo run of the library while the
// server decodes them together (run it under -race).
func TestConcurrentClients(t *testing.T) {
	ts := newServer(t, server.Options{ModelName: "tiny-a", Parallel: 3})
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	questions := []string{"Describe this image.", "Hello", "Count to five.", "Why is the sky blue?", "Name a colour.", "Describe this image."}
	type result struct {
		text      string
		completed int64
	}
	want := make([]result, len(questions))
	params := make([]openai.ChatCompletionNewParams, len(questions))
	for i, q := range questions {
		g := vlmrt.GenerateOptions{MaxTokens: 5 + 2*i}
		p := openai.ChatCompletionNewParams{Model: "tiny-a", MaxTokens: openai.Int(int64(g.MaxTokens))}
		if i%2 == 1 {
			g.Sampling = vlmrt.Sampling{Temperature: 0.8, Seed: uint64(100 + i)}
			p.Temperature, p.Seed = openai.Float(0.8), openai.Int(int64(100+i))
		}
		parts := []vlmrt.Part{vlmrt.Text(q)}
		content := []openai.ChatCompletionContentPartUnionParam{openai.TextContentPart(q)}
		if i == 0 {
			parts = append([]vlmrt.Part{vlmrt.ImageFile(tinyA + "/golden/image1.png")}, parts...)
			content = append([]openai.ChatCompletionContentPartUnionParam{openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: dataURL(t, tinyA+"/golden/image1.png")})}, content...)
		}
		p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(content)}
		params[i] = p
		r, err := model(t).Generate(context.Background(), vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(parts...)}, GenerateOptions: g})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = result{r.Text, int64(r.Stats.GeneratedTokens)}
	}
	got := make([]result, len(questions))
	var wg sync.WaitGroup
	for i := range questions {
		wg.Go(func() {
			if i%3 == 2 {
				resp, err := client.Chat.Completions.New(context.Background(), params[i])
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = result{resp.Choices[0].Message.Content, resp.Usage.CompletionTokens}
				return
			}
			p := params[i]
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := client.Chat.Completions.NewStreaming(context.Background(), p)
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Error(err)
				return
			}
			got[i] = result{acc.Choices[0].Message.Content, acc.Usage.CompletionTokens}
		})
	}
	wg.Wait()
	for i := range questions {
		if got[i] != want[i] {
			t.Errorf("client %d: %+v, solo run %+v", i, got[i], want[i])
		}
	}
}

// TestPrefixReuse: a conversation resent with its next question reuses the
// first request's cache (usage.prompt_tokens_details.cached_tokens) and
// answers as a cold run; the same text with another image reuses only the
// template tokens before the image.
func TestPrefixReuse(t *testing.T) {
	ts := newServer(t, server.Options{ModelName: "tiny-a", Parallel: 1})
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	user := func(image, text string) openai.ChatCompletionMessageParamUnion {
		return openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: dataURL(t, image)}),
			openai.TextContentPart(text),
		})
	}
	ask := func(msgs ...openai.ChatCompletionMessageParamUnion) *openai.ChatCompletion {
		t.Helper()
		resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "tiny-a", Messages: msgs, MaxTokens: openai.Int(8)})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	img1, img2 := tinyA+"/golden/image1.png", tinyA+"/golden/image2.png"
	first := ask(user(img1, "Describe this image."))
	if c := first.Usage.PromptTokensDetails.CachedTokens; c != 0 {
		t.Fatalf("a first request reused %d tokens", c)
	}
	second := ask(user(img1, "Describe this image."), openai.AssistantMessage(first.Choices[0].Message.Content), openai.UserMessage("And the colours?"))
	if c := second.Usage.PromptTokensDetails.CachedTokens; c < first.Usage.PromptTokens {
		t.Fatalf("the extended conversation reused %d tokens, fewer than the first prompt's %d", c, first.Usage.PromptTokens)
	}
	cold, err := model(t).Generate(context.Background(), vlmrt.Request{
		Messages: []vlmrt.Message{
			vlmrt.User(vlmrt.ImageFile(img1), vlmrt.Text("Describe this image.")),
			{Role: "assistant", Parts: []vlmrt.Part{vlmrt.Text(first.Choices[0].Message.Content)}},
			vlmrt.User(vlmrt.Text("And the colours?")),
		},
		GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 8}})
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Choices[0].Message.Content; got != cold.Text {
		t.Fatalf("with reuse %q, cold %q", got, cold.Text)
	}
	other := ask(user(img2, "Describe this image."))
	if c := other.Usage.PromptTokensDetails.CachedTokens; c != 4 {
		t.Fatalf("another image with the same text reused %d tokens; want the 4 template tokens before the image", c)
	}
}

// TestCloseMidStream: Server.Close (what `vlmrt serve` calls after its
// grace period) ends a running stream within a step, and the handler
// returns.
func TestCloseMidStream(t *testing.T) {
	h, err := server.New(model(t), server.Options{MaxTokens: 100000})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"Tell a long story."}],"max_tokens":100000,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, _ := rd.ReadString('\n'); !strings.HasPrefix(line, "data: ") {
		t.Fatalf("stream: %q", line)
	}
	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, rd); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after Close")
	}
}
