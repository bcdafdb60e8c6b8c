package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/vision"
)

// chatRequest is the subset of OpenAI's chat completion request the server
// reads. Unknown fields are ignored, as OpenAI's own API does for fields it
// does not know, so clients that send vendor extensions keep working;
// known fields the engine cannot honour are refused by name.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Seed                *int64          `json:"seed"`
	Stop                json.RawMessage `json:"stop"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	N                   *int            `json:"n"`
	Logprobs            *bool           `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// Response shapes.
type completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage,omitempty"`
}

type choice struct {
	Index        int             `json:"index"`
	Message      *outMessage     `json:"message,omitempty"`
	Delta        *outMessage     `json:"delta,omitempty"`
	Logprobs     *choiceLogprobs `json:"logprobs,omitempty"`
	FinishReason *string         `json:"finish_reason"`
}

// choiceLogprobs is a choice's logprobs: one entry per generated token.
type choiceLogprobs struct {
	Content []logprobEntry `json:"content"`
	Refusal []logprobEntry `json:"refusal"`
}

type logprobEntry struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// logprobOf is a generated token's entry, or false for a token with no
// place in the message (the end-of-turn token). token is the text the
// token added to the message (so the entries' tokens concatenate to the
// content, a character split across tokens arriving with the token that
// completes it); bytes are the token's own bytes, which concatenate to
// the content's bytes too (short of stop strings, whose bytes they keep).
func logprobOf(t vlmrt.Token) (logprobEntry, bool) {
	if t.TopLogprobs == nil {
		return logprobEntry{}, false
	}
	e := logprobEntry{Token: t.Text, Logprob: t.Logprob, Bytes: ints(t.Bytes), TopLogprobs: make([]topLogprob, len(t.TopLogprobs))}
	if t.End && t.FinishReason == "eos" {
		if t.Text == "" {
			return logprobEntry{}, false
		}
		// Text a pending stop-string prefix held back, released at the end.
		e.Bytes = ints([]byte(t.Text))
	}
	for i, c := range t.TopLogprobs {
		e.TopLogprobs[i] = topLogprob{Token: c.Text, Logprob: c.Logprob, Bytes: ints([]byte(c.Text))}
	}
	return e, true
}

func ints(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

type outMessage struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// PromptTokensDetails.CachedTokens: prompt tokens whose KV cache an
	// earlier request left in the slot (not prefilled), as OpenAI reports
	// its prompt caching.
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// apiError is an error in OpenAI's shape, with its HTTP status.
type apiError struct {
	status  int
	typ     string
	param   string
	message string
}

type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) body() errorObject {
	o := errorObject{Message: e.message, Type: e.typ}
	if e.param != "" {
		o.Param = &e.param
	}
	if e.status == http.StatusNotFound && e.param == "model" {
		code := "model_not_found"
		o.Code = &code
	}
	return o
}

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request_error", param, fmt.Sprintf(format, args...)}
}

func tooLarge(param, format string, args ...any) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, "invalid_request_error", param, fmt.Sprintf(format, args...)}
}

func errModelNotFound(name string) *apiError {
	return &apiError{http.StatusNotFound, "invalid_request_error", "model", fmt.Sprintf("the model %q does not exist on this server", name)}
}

// decodeRequest reads the JSON body: malformed JSON and values of the
// wrong type are 400s naming the field, an oversized body is 413.
func decodeRequest(r io.Reader, req *chatRequest) *apiError {
	err := json.NewDecoder(r).Decode(req)
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return tooLarge("", "the request body exceeds %d bytes", tooBig.Limit)
	case errors.As(err, &typeErr):
		return badRequest(typeErr.Field, "%s: expected %s, got %s", typeErr.Field, kindName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("", "the request body is not valid JSON: %v", err)
	}
	return badRequest("", "the request body could not be read: %v", err)
}

func kindName(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "a boolean"
	case k == "slice":
		return "an array"
	}
	return "an object"
}

// prepare validates the request and turns it into a vlmrt.Request.
func (s *Server) prepare(ctx context.Context, req *chatRequest) (vlmrt.Request, *apiError) {
	var out vlmrt.Request
	if req.Model != "" && strings.TrimSpace(req.Model) != s.opt.ModelName {
		return out, errModelNotFound(req.Model)
	}
	if req.N != nil && *req.N != 1 {
		return out, badRequest("n", "n = %d is not supported: this server returns one choice per request", *req.N)
	}
	if tl := req.TopLogprobs; tl != nil {
		if *tl < 0 || *tl > vlmrt.MaxTopLogprobs {
			return out, badRequest("top_logprobs", "top_logprobs must be within 0..%d, got %d", vlmrt.MaxTopLogprobs, *tl)
		}
		if *tl > 0 && (req.Logprobs == nil || !*req.Logprobs) {
			return out, badRequest("top_logprobs", "top_logprobs needs logprobs: true")
		}
		out.TopLogprobs = *tl
	}
	out.Logprobs = req.Logprobs != nil && *req.Logprobs
	if req.PresencePenalty != nil && *req.PresencePenalty != 0 {
		return out, badRequest("presence_penalty", "presence_penalty is not supported (use 0); vlmrt offers a repetition penalty through its Go API")
	}
	if req.FrequencyPenalty != nil && *req.FrequencyPenalty != 0 {
		return out, badRequest("frequency_penalty", "frequency_penalty is not supported (use 0)")
	}
	g := &out.GenerateOptions
	g.MaxTokens = s.opt.MaxTokens
	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if mt.v == nil {
			continue
		}
		if *mt.v < 1 {
			return out, badRequest(mt.name, "%s must be at least 1, got %d", mt.name, *mt.v)
		}
		if *mt.v > s.opt.MaxTokens {
			return out, badRequest(mt.name, "%s %d exceeds this server's limit of %d", mt.name, *mt.v, s.opt.MaxTokens)
		}
		g.MaxTokens = *mt.v
	}
	if t := req.Temperature; t != nil {
		if *t < 0 || *t > 2 {
			return out, badRequest("temperature", "temperature must be within 0..2, got %v", *t)
		}
		g.Temperature = float32(*t)
	}
	if p := req.TopP; p != nil {
		if *p <= 0 || *p > 1 {
			return out, badRequest("top_p", "top_p must be within (0, 1], got %v", *p)
		}
		g.TopP = float32(*p)
	}
	if req.Seed != nil {
		g.Seed = uint64(*req.Seed)
	}
	stop, err := parseStop(req.Stop)
	if err != nil {
		return out, err
	}
	g.Stop = stop
	out.Resize, out.ImageBudget = s.opt.Resize, s.opt.ImageBudget
	if len(req.Messages) == 0 {
		return out, badRequest("messages", "messages must hold at least one message")
	}
	// The image count is checked before any image is decoded.
	total := 0
	for _, m := range req.Messages {
		var parts []contentPart
		if json.Unmarshal(m.Content, &parts) == nil {
			for _, p := range parts {
				if p.Type == "image_url" {
					total++
				}
			}
		}
	}
	if total > s.opt.MaxImages {
		return out, badRequest("messages", "the request holds %d images, more than %d images, this server's limit", total, s.opt.MaxImages)
	}
	images := 0
	for i, m := range req.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer":
			text, err := s.textOnly(m.Content, param)
			if err != nil {
				return out, err
			}
			if i != 0 {
				return out, badRequest(param+".role", "a system message must come first")
			}
			out.System = text
		case "user", "assistant":
			parts, n, err := s.parts(ctx, m, param, images)
			if err != nil {
				return out, err
			}
			images += n
			out.Messages = append(out.Messages, vlmrt.Message{Role: m.Role, Parts: parts})
		default:
			return out, badRequest(param+".role", "role %q is not supported (want system, user or assistant)", m.Role)
		}
	}
	if len(out.Messages) == 0 || out.Messages[len(out.Messages)-1].Role != "user" {
		return out, badRequest("messages", "the last message must be from the user")
	}
	if err := g.Sampling.Validate(); err != nil {
		return out, badRequest("", "%v", err)
	}
	return out, nil
}

func parseStop(raw json.RawMessage) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "stop must be a string or an array of strings")
	}
	if len(many) > 4 {
		return nil, badRequest("stop", "stop holds %d strings; at most 4", len(many))
	}
	return many, nil
}

// textOnly reads content that must be text (system messages).
func (s *Server) textOnly(raw json.RawMessage, param string) (string, *apiError) {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest(param+".content", "content must be a string or an array of content parts")
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" {
			return "", badRequest(fmt.Sprintf("%s.content[%d].type", param, j), "only text parts are allowed here, got %q", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// parts converts a user or assistant message's content.
func (s *Server) parts(ctx context.Context, m chatMessage, param string, imagesBefore int) ([]vlmrt.Part, int, *apiError) {
	var text string
	if json.Unmarshal(m.Content, &text) == nil {
		return []vlmrt.Part{vlmrt.Text(text)}, 0, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return nil, 0, badRequest(param+".content", "content must be a string or an array of content parts")
	}
	var out []vlmrt.Part
	images := 0
	for j, p := range parts {
		pp := fmt.Sprintf("%s.content[%d]", param, j)
		switch p.Type {
		case "text":
			out = append(out, vlmrt.Text(p.Text))
		case "image_url":
			if m.Role != "user" {
				return nil, 0, badRequest(pp, "images are only allowed in user messages")
			}
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, 0, badRequest(pp+".image_url.url", "image_url needs a url")
			}
			if imagesBefore+images+1 > s.opt.MaxImages {
				return nil, 0, badRequest(pp, "the request holds more than %d images, this server's limit", s.opt.MaxImages)
			}
			img, err := s.loadImage(ctx, p.ImageURL.URL, pp+".image_url.url")
			if err != nil {
				return nil, 0, err
			}
			images++
			out = append(out, vlmrt.Image(img))
		default:
			return nil, 0, badRequest(pp+".type", "content part type %q is not supported (want text or image_url)", p.Type)
		}
	}
	if len(out) == 0 {
		return nil, 0, badRequest(param+".content", "content is empty")
	}
	return out, images, nil
}

// loadImage decodes a data: URL (or, when allowed, fetches an http(s) URL)
// with the image pipeline, its size checked from the header first.
func (s *Server) loadImage(ctx context.Context, url, param string) (*vision.RGBImage, *apiError) {
	var data []byte
	switch {
	case strings.HasPrefix(url, "data:"):
		meta, payload, ok := strings.Cut(url[len("data:"):], ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, badRequest(param, "a data URL must be base64: data:image/png;base64,...")
		}
		if !strings.HasPrefix(meta, "image/") {
			return nil, badRequest(param, "the data URL's media type %q is not an image", strings.TrimSuffix(meta, ";base64"))
		}
		var err error
		if data, err = base64.StdEncoding.DecodeString(payload); err != nil {
			return nil, badRequest(param, "the data URL is not valid base64: %v", err)
		}
	case strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://"):
		if !s.opt.AllowRemoteImages {
			return nil, badRequest(param, "remote image URLs are disabled on this server (start it with --allow-remote-images, or send a data: URL)")
		}
		var apiErr *apiError
		if data, apiErr = s.fetch(ctx, url, param); apiErr != nil {
			return nil, apiErr
		}
	default:
		return nil, badRequest(param, "an image URL must be a data: URL or http(s)")
	}
	img, err := vision.DecodeImage(bytes.NewReader(data), s.opt.MaxImagePixels)
	switch {
	case errors.Is(err, vision.ErrImageTooLarge):
		return nil, tooLarge(param, "%v", err)
	case err != nil:
		return nil, badRequest(param, "%v", err)
	}
	return img, nil
}

func (s *Server) fetch(ctx context.Context, url, param string) ([]byte, *apiError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, badRequest(param, "bad image URL: %v", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, badRequest(param, "fetching the image failed: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, badRequest(param, "fetching the image: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.opt.RemoteImageBytes+1))
	if err != nil {
		return nil, badRequest(param, "fetching the image failed: %v", err)
	}
	if int64(len(data)) > s.opt.RemoteImageBytes {
		return nil, tooLarge(param, "the remote image exceeds %d bytes", s.opt.RemoteImageBytes)
	}
	return data, nil
}
