// Package server serves a vlmrt model over HTTP with OpenAI's chat
// completions API, so that OpenAI clients (the official SDKs, curl, tools
// built for ollama or llama.cpp's server) talk to a local Qwen3-VL:
//
//	POST /v1/chat/completions   non-streaming, or stream: true (server-sent events)
//	GET  /v1/models             the one model served
//	GET  /health                {"status":"ok"}
//
// A Server is an http.Handler, so a Go program can mount it on its own mux.
// Each request is one conversation in the model's vlmrt.Batch: up to
// Options.Parallel decode together (continuous batching: every engine step
// advances all of them in one pass over the weights, and a request joins
// or leaves between steps), Options.Queue more wait, and the rest are
// refused with 429. A client that disconnects cancels its generation
// within one decode step. A request whose prompt extends an earlier one
// (a conversation resent with its next question) reuses that request's
// KV cache and prefills only its new tokens
// (usage.prompt_tokens_details.cached_tokens).
//
// With "logprobs": true each generated token's log-probability (the
// log-softmax of the model's raw logits, before temperature and top_p)
// and its "top_logprobs" (0..20) most likely alternatives come back in
// choices[0].logprobs.content, in the streamed chunks too.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/vlmrt/vlmrt"
)

// Options configures a Server. Zero fields take the defaults named.
type Options struct {
	// ModelName is the id clients send as "model" and /v1/models lists
	// (default "vlmrt"). Requests for another model get 404.
	ModelName string
	// Parallel is how many requests decode together, the batch's slots
	// (default 4). Each slot keeps its last conversation's KV cache for
	// prefix reuse, so memory grows with it.
	Parallel int
	// Queue is how many more requests may wait for a slot (default 16);
	// beyond it requests are refused with 429.
	Queue int
	// MaxBodyBytes bounds a request body (default 32 MiB; 413 beyond).
	MaxBodyBytes int64
	// MaxImages bounds the images of one request (default 8).
	MaxImages int
	// MaxImagePixels bounds each image's decoded size, checked from its
	// header before any pixel is decoded (default 50 megapixels; 413 beyond).
	MaxImagePixels int64
	// MaxTokens caps max_tokens (default 4096); it is also the default
	// when a request gives none.
	MaxTokens int
	// RequestTimeout bounds one request, queueing included (default 10 min).
	RequestTimeout time.Duration
	// AllowRemoteImages lets image_url fetch http(s) URLs (default: only
	// data: URLs), with RemoteImageBytes and RemoteImageTimeout as limits.
	AllowRemoteImages  bool
	RemoteImageBytes   int64         // default 20 MiB
	RemoteImageTimeout time.Duration // default 20 s
	// Resize and ImageBudget say how images become model input (default:
	// the chat default, the fixed 448×448 grid).
	Resize      vlmrt.ResizeMode
	ImageBudget vlmrt.ImageBudget
}

// Defaults returns the Options a Server uses for zero fields (flags and
// documentation take their defaults from here).
func Defaults() Options { return Options{}.withDefaults() }

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Parallel, 4)
	def(&o.Queue, 16)
	def(&o.MaxImages, 8)
	def(&o.MaxTokens, 4096)
	if o.ModelName == "" {
		o.ModelName = "vlmrt"
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.MaxImagePixels <= 0 {
		o.MaxImagePixels = 50_000_000
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Minute
	}
	if o.RemoteImageBytes <= 0 {
		o.RemoteImageBytes = 20 << 20
	}
	if o.RemoteImageTimeout <= 0 {
		o.RemoteImageTimeout = 20 * time.Second
	}
	return o
}

// Server answers OpenAI chat completion requests with one model.
type Server struct {
	batch   *vlmrt.Batch
	opt     Options
	mux     *http.ServeMux
	slots   chan struct{} // Parallel tokens
	mu      sync.Mutex
	waiting int // requests admitted and not yet finished
	created int64
	client  *http.Client // remote images
}

// New serves m. The Server does not own m: Close the server, then m.
func New(m *vlmrt.Model, opt Options) (*Server, error) {
	if m == nil {
		return nil, errors.New("server: nil model")
	}
	if opt.Parallel < 0 || opt.Queue < 0 || opt.MaxImages < 0 || opt.MaxTokens < 0 {
		return nil, fmt.Errorf("server: negative limit in %+v", opt)
	}
	opt = opt.withDefaults()
	s := &Server{batch: m.NewBatch(opt.Parallel), opt: opt, mux: http.NewServeMux(), slots: make(chan struct{}, opt.Parallel),
		created: time.Now().Unix(), client: &http.Client{Timeout: opt.RemoteImageTimeout}}
	s.mux.HandleFunc("POST /v1/chat/completions", s.chatCompletions)
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /v1/models/{id}", s.model)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{http.StatusNotFound, "invalid_request_error", "", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
	})
	return s, nil
}

// Close stops generating: requests still running end within one decode
// step (stop the HTTP server first, e.g. http.Server.Shutdown, so none
// start). It releases the slots' caches.
func (s *Server) Close() error { return s.batch.Close() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Options returns the server's settings with defaults filled in.
func (s *Server) Options() Options { return s.opt }

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) modelObject() modelObject {
	return modelObject{ID: s.opt.ModelName, Object: "model", Created: s.created, OwnedBy: "vlmrt"}
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []modelObject{s.modelObject()}})
}

func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.opt.ModelName {
		writeError(w, errModelNotFound(r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, s.modelObject())
}

// admit takes a queue place (429 when the queue is full), then waits for a
// generation slot; release gives both back.
func (s *Server) admit(ctx context.Context) (release func(), err *apiError) {
	s.mu.Lock()
	if s.waiting >= s.opt.Parallel+s.opt.Queue {
		s.mu.Unlock()
		return nil, &apiError{http.StatusTooManyRequests, "rate_limit_error", "", fmt.Sprintf("the server is busy: %d requests running or queued (limit %d running + %d queued); retry later", s.waiting, s.opt.Parallel, s.opt.Queue)}
	}
	s.waiting++
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots; done() }, nil
	case <-ctx.Done():
		done()
		return nil, &apiError{http.StatusServiceUnavailable, "server_error", "", "the request timed out or was cancelled while queued"}
	}
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.RequestTimeout)
	defer cancel()
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes)
	var req chatRequest
	if err := decodeRequest(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	job, apiErr := s.prepare(ctx, &req)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	release, apiErr := s.admit(ctx)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	defer release()
	if req.Stream {
		s.stream(ctx, w, &req, job)
		return
	}
	var lp *choiceLogprobs
	if job.Logprobs {
		lp = &choiceLogprobs{Content: []logprobEntry{}}
	}
	resp, err := s.batch.GenerateFunc(ctx, job, func(t vlmrt.Token) error {
		if e, ok := logprobOf(t); ok && lp != nil {
			lp.Content = append(lp.Content, e)
		}
		return nil
	})
	if err != nil {
		writeError(w, generationError(err))
		return
	}
	writeJSON(w, http.StatusOK, completion{
		ID: completionID(), Object: "chat.completion", Created: time.Now().Unix(), Model: s.opt.ModelName,
		Choices: []choice{{Index: 0, Message: &outMessage{Role: "assistant", Content: resp.Text}, Logprobs: lp, FinishReason: finishReason(resp.FinishReason)}},
		Usage:   usageOf(resp),
	})
}

// stream answers with server-sent events: a first chunk with the role, one
// chunk per piece of text (with logprobs, the entries of the tokens since
// the last chunk), a last chunk with the finish reason (and any entries
// left), the usage chunk when asked for, then "data: [DONE]".
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, req *chatRequest, job vlmrt.Request) {
	flusher, _ := w.(http.Flusher)
	id, created := completionID(), time.Now().Unix()
	started := false
	send := func(c completion) error {
		if !started {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		c.ID, c.Object, c.Created, c.Model = id, "chat.completion.chunk", created, s.opt.ModelName
		b, _ := json.Marshal(c)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err // the client is gone: stop generating
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	var entries []logprobEntry // logprobs not yet sent
	delta := func(d *outMessage, finish *string) completion {
		c := choice{Index: 0, Delta: d, FinishReason: finish}
		if len(entries) > 0 {
			c.Logprobs = &choiceLogprobs{Content: entries}
			entries = nil
		}
		return completion{Choices: []choice{c}}
	}
	// The role chunk goes out once the prompt is accepted (first token), so
	// a bad image or an overflowing prompt still gets a plain JSON error.
	resp, err := s.batch.GenerateFunc(ctx, job, func(t vlmrt.Token) error {
		if !started {
			if err := send(delta(&outMessage{Role: "assistant", Content: ""}, nil)); err != nil {
				return err
			}
		}
		if e, ok := logprobOf(t); ok {
			entries = append(entries, e)
		}
		if t.Text == "" {
			return nil
		}
		return send(delta(&outMessage{Content: t.Text}, nil))
	})
	if err != nil {
		if !started {
			writeError(w, generationError(err))
			return
		}
		if ctx.Err() != nil {
			return // client gone or timed out: nothing more can be said
		}
		b, _ := json.Marshal(errorBody{generationError(err).body()})
		fmt.Fprintf(w, "data: %s\n\n", b)
		return
	}
	if !started {
		send(delta(&outMessage{Role: "assistant", Content: ""}, nil))
	}
	send(delta(&outMessage{}, finishReason(resp.FinishReason)))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(completion{Choices: []choice{}, Usage: usageOf(resp)})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

// finishReason maps the engine's reasons to OpenAI's: an end-of-turn token
// or a stop string is "stop", the max_tokens or context limit "length".
func finishReason(r string) *string {
	out := "stop"
	switch r {
	case "length", "context":
		out = "length"
	}
	return &out
}

func usageOf(r *vlmrt.Response) *usage {
	u := &usage{PromptTokens: r.Stats.PromptTokens, CompletionTokens: r.Stats.GeneratedTokens}
	u.PromptTokensDetails.CachedTokens = r.Stats.PromptTokens - r.Stats.PrefillTokens
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// generationError maps an engine error to a status: bad input is the
// client's (400), overflow too (400, as OpenAI's context_length_exceeded),
// a closed model or cancellation 503, anything else 500.
func generationError(err error) *apiError {
	msg := err.Error()
	switch {
	case errors.Is(err, vlmrt.ErrContextOverflow):
		return &apiError{http.StatusBadRequest, "invalid_request_error", "messages", msg}
	case errors.Is(err, vlmrt.ErrUnsupportedInput), errors.Is(err, vlmrt.ErrImageFile):
		return &apiError{http.StatusBadRequest, "invalid_request_error", "messages", msg}
	case errors.Is(err, vlmrt.ErrClosed), errors.Is(err, vlmrt.ErrCancelled):
		return &apiError{http.StatusServiceUnavailable, "server_error", "", msg}
	}
	return &apiError{http.StatusInternalServerError, "server_error", "", msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody{e.body()})
}

var idMu sync.Mutex
var idNext int64

// completionID is a unique id per response ("chatcmpl-…").
func completionID() string {
	idMu.Lock()
	defer idMu.Unlock()
	idNext++
	return fmt.Sprintf("chatcmpl-%x-%d", time.Now().UnixNano(), idNext)
}
