package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/hub"
	"github.com/vlmrt/vlmrt/hub/hubtest"
)

const pullCommit = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"

// pullEnv points vlmrt at a fake Hub and a temporary cache through the same
// environment variables a user would set.
func pullEnv(t *testing.T) (*hubtest.Server, string) {
	t.Helper()
	s := hubtest.NewServer("mlboydaisuke/Qwen3-VL-4B-CoreAI", pullCommit, []hubtest.File{
		{Path: "README.md", Data: []byte("# model card\n")},
		{Path: "gpu-pipelined/qwen3_vl_4b_instruct_vision/metadata.json", Data: []byte(`{"kind":"vision"}`)},
		{Path: "gpu-pipelined/qwen3_vl_4b_instruct_vision/qwen3_vl_4b_instruct_vision.aimodel/main.mlirb", Data: bytes.Repeat([]byte{1, 2, 3}, 40000), LFS: true},
	})
	t.Cleanup(s.Close)
	cache := t.TempDir()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("HF_ENDPOINT", s.URL+"/")
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HOME", "")
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("TRANSFORMERS_OFFLINE", "")
	return s, cache
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPullDownloadsAndPrintsSnapshot(t *testing.T) {
	s, cache := pullEnv(t)
	code, out, errOut := runMain("pull", "mlboydaisuke/Qwen3-VL-4B-CoreAI", "--include", "gpu-pipelined/*", "--revision", "main")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := filepath.Join(cache, "models--mlboydaisuke--Qwen3-VL-4B-CoreAI", "snapshots", pullCommit)
	if out != want+"\n" {
		t.Fatalf("stdout %q, want the snapshot path %q", out, want)
	}
	if errOut != "" {
		t.Fatalf("stderr is not a terminal, yet got %q", errOut)
	}
	got, err := os.ReadFile(filepath.Join(want, "gpu-pipelined/qwen3_vl_4b_instruct_vision/qwen3_vl_4b_instruct_vision.aimodel/main.mlirb"))
	if err != nil || len(got) != 120000 {
		t.Fatalf("bundle file: %d bytes, %v", len(got), err)
	}
	if _, err := os.Lstat(filepath.Join(want, "README.md")); !os.IsNotExist(err) {
		t.Fatalf("README.md downloaded despite --include (%v)", err)
	}

	// Offline now works from the cache, without a single request.
	s.ResetRequests()
	code, out2, errOut := runMain("pull", "--offline", "--include", "gpu-pipelined/", "mlboydaisuke/Qwen3-VL-4B-CoreAI")
	if code != 0 || out2 != out {
		t.Fatalf("offline pull: exit %d, stdout %q, stderr %q", code, out2, errOut)
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("offline pull made %d requests", n)
	}
}

func TestPullErrors(t *testing.T) {
	s, _ := pullEnv(t)
	t.Setenv("HF_HUB_OFFLINE", "1")
	code, out, errOut := runMain("pull", "mlboydaisuke/Qwen3-VL-4B-CoreAI")
	if code != 1 || out != "" || !strings.Contains(errOut, "HF_HUB_OFFLINE") || !strings.Contains(errOut, "not in the local cache") {
		t.Fatalf("offline with empty cache: exit %d, stderr %q", code, errOut)
	}
	if strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("error is not one line: %q", errOut)
	}
	t.Setenv("HF_HUB_OFFLINE", "")

	s.Token = "hf_secret"
	code, _, errOut = runMain("pull", "mlboydaisuke/Qwen3-VL-4B-CoreAI")
	if code != 1 || !strings.Contains(errOut, "gated") || !strings.Contains(errOut, "HF_TOKEN") {
		t.Fatalf("gated: exit %d, stderr %q", code, errOut)
	}
	t.Setenv("HF_TOKEN", "hf_secret")
	if code, _, errOut = runMain("pull", "mlboydaisuke/Qwen3-VL-4B-CoreAI"); code != 0 {
		t.Fatalf("with HF_TOKEN: exit %d, stderr %q", code, errOut)
	}

	for _, args := range [][]string{{"pull"}, {"pull", "a/b", "c/d"}, {"pull", "--bogus", "a/b"}} {
		if code, _, errOut := runMain(args...); code != 2 {
			t.Fatalf("%q: exit %d, stderr %q, want usage error 2", args, code, errOut)
		}
	}
	if code, _, errOut := runMain("pull", "not a repo"); code != 1 || !strings.Contains(errOut, "repository id") {
		t.Fatalf("bad name: exit %d, stderr %q", code, errOut)
	}
}

func TestProgressLine(t *testing.T) {
	p := hub.Progress{File: "model-00001-of-00002.safetensors", Index: 1, Count: 4, Done: 1_500_000_000, Total: 3_000_000_000}
	line := progressLine(p, 10*time.Second, 1_000_000_000, 100)
	for _, want := range []string{"[1/4]", "model-00001-of-00002.safetensors", " 50% ", "[==========          ]", "1.5 GB/3.0 GB", "100.0 MB/s"} {
		if !strings.Contains(line, want) {
			t.Fatalf("progress line %q lacks %q", line, want)
		}
	}
	if len([]rune(line)) >= 100 {
		t.Fatalf("progress line is %d runes wide, terminal has 100: %q", len([]rune(line)), line)
	}
	narrow := progressLine(p, 0, 0, 40)
	if len([]rune(narrow)) >= 40 || !strings.Contains(narrow, "50%") {
		t.Fatalf("narrow progress line %q", narrow)
	}
}
