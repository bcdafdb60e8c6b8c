package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt"
)

var (
	fuzzOnce  sync.Once
	fuzzModel *vlmrt.Model
	fuzzErr   error
)

// FuzzChatRequest feeds arbitrary bodies to the request parser and
// validator (no generation): every outcome is a request the engine can
// take or an OpenAI-shaped 4xx, never a panic or a 5xx.
func FuzzChatRequest(f *testing.F) {
	fuzzOnce.Do(func() { fuzzModel, fuzzErr = vlmrt.Open(context.Background(), "../testdata/tiny-a") })
	if fuzzErr != nil {
		f.Fatal(fuzzErr)
	}
	s, err := New(fuzzModel, Options{ModelName: "m"})
	if err != nil {
		f.Fatal(err)
	}
	png, _ := os.ReadFile("../testdata/images/d05_tiny_1x1.png")
	f.Add([]byte(`{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0.7,"top_p":0.9,"seed":1,"stop":["x","y"]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `"}},{"type":"text","text":"?"}]}],"stream":true,"stream_options":{"include_usage":true}}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}],"n":1,"logprobs":false}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req chatRequest
		if e := decodeRequest(strings.NewReader(string(body)), &req); e != nil {
			checkAPIError(t, e)
			return
		}
		if _, e := s.prepare(context.Background(), &req); e != nil {
			checkAPIError(t, e)
		}
	})
}

func checkAPIError(t *testing.T, e *apiError) {
	if e.status < 400 || e.status >= 500 || e.message == "" || e.typ == "" || e.status == http.StatusInternalServerError {
		t.Fatalf("bad input answered %d %q %q", e.status, e.typ, e.message)
	}
}
