package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while Main writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeShutdownMidStream: `vlmrt serve` answers, and a SIGINT (the
// context Main gets) during a long stream stops accepting, cancels the
// stream after the grace period, and exits 0.
func TestServeShutdownMidStream(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- Main(ctx, []string{"serve", "--model", tinyA, "--addr", "127.0.0.1:0", "--grace", "500ms", "--max-tokens", "100000"}, nil, &bytes.Buffer{}, &stderr)
	}()
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`http://(\S+)/v1`).FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		t.Fatalf("the server did not start: %s", stderr.String())
	}
	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"Tell a long story."}],"max_tokens":100000,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, _ := rd.ReadString('\n'); !strings.HasPrefix(line, "data: ") {
		t.Fatalf("stream: %q", line)
	}
	stop() // SIGINT
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after the grace period")
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Error("still accepting after shutdown")
	}
}
