package vlmrt_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/hub"
	"github.com/vlmrt/vlmrt/hub/hubtest"
)

// TestOpenByRepoID: a model name is fetched from the Hub (a local fake that
// imitates its endpoints) into a Hugging Face cache and opened from there;
// the second Open works offline from the cache.
func TestOpenByRepoID(t *testing.T) {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	srv := hubtest.NewServer("test-org/tiny-a", "0123456789abcdef0123456789abcdef01234567", []hubtest.File{
		{Path: "config.json", Data: read("testdata/tiny-a/config.json")},
		{Path: "model.safetensors", Data: read("testdata/tiny-a/model.safetensors"), LFS: true},
		{Path: "tokenizer.json.gz", Data: read("testdata/tokenizer/tokenizer.json.gz"), LFS: true},
		{Path: "tokenizer_config.json", Data: read("testdata/tokenizer/tokenizer_config.json")},
		{Path: "chat_template.jinja", Data: read("testdata/tokenizer/chat_template.jinja")},
		{Path: "README.md", Data: []byte("not needed")},
	})
	defer srv.Close()
	cache := t.TempDir()
	var downloaded int64
	opts := hub.Options{Endpoint: srv.URL, CacheDir: cache, Include: []string{"*.json", "*.safetensors", "*.gz", "*.jinja"}}
	m, err := vlmrt.Open(context.Background(), "test-org/tiny-a", vlmrt.WithHub(opts), vlmrt.WithProgress(func(p vlmrt.LoadProgress) {
		if p.Stage == "download" && p.Done == p.Total {
			downloaded += p.Total
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Generate(context.Background(), vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.Text("Hello!"))}, GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 3}})
	if err != nil || len(resp.Tokens) != 3 {
		t.Fatalf("generate from the downloaded model: %v", err)
	}
	m.Close()
	if downloaded == 0 {
		t.Fatal("no download progress reported")
	}
	if _, err := os.Stat(filepath.Join(cache, "models--test-org--tiny-a", "snapshots", srv.Commit, "model.safetensors")); err != nil {
		t.Fatalf("not in the Hugging Face cache layout: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "models--test-org--tiny-a", "snapshots", srv.Commit, "README.md")); err == nil {
		t.Fatal("files outside the include patterns were downloaded")
	}
	srv.ResetRequests()
	opts.Offline = true
	m, err = vlmrt.Open(context.Background(), "test-org/tiny-a", vlmrt.WithHub(opts))
	if err != nil {
		t.Fatalf("offline reopen from the cache: %v", err)
	}
	m.Close()
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("offline open made %d requests", n)
	}
}
