package hub

import (
	"os"
	"path/filepath"
	"testing"
)

// clearHFEnv isolates a test from the developer's own Hugging Face setup.
func clearHFEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME",
		"HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"} {
		t.Setenv(v, "")
	}
	return home
}

func TestCacheDirResolution(t *testing.T) {
	home := clearHFEnv(t)
	if got, want := DefaultCacheDir(), filepath.Join(home, ".cache", "huggingface", "hub"); got != want {
		t.Fatalf("default cache = %s, want %s", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := DefaultCacheDir(); got != "/xdg/huggingface/hub" {
		t.Fatalf("with XDG_CACHE_HOME: %s", got)
	}
	t.Setenv("HF_HOME", "~/hf")
	if got, want := DefaultCacheDir(), filepath.Join(home, "hf", "hub"); got != want {
		t.Fatalf("with HF_HOME=~/hf: %s, want %s", got, want)
	}
	t.Setenv("HUGGINGFACE_HUB_CACHE", "/legacy")
	if got := DefaultCacheDir(); got != "/legacy" {
		t.Fatalf("with HUGGINGFACE_HUB_CACHE: %s", got)
	}
	t.Setenv("HF_HUB_CACHE", "/hubcache")
	if got := DefaultCacheDir(); got != "/hubcache" {
		t.Fatalf("with HF_HUB_CACHE: %s", got)
	}
	if got := OptionsFromEnv().CacheDir; got != "/hubcache" {
		t.Fatalf("OptionsFromEnv().CacheDir = %s", got)
	}
}

func TestEndpointTokenOfflineFromEnv(t *testing.T) {
	home := clearHFEnv(t)
	o := OptionsFromEnv()
	if o.Endpoint != "" || o.Token != "" || o.Offline {
		t.Fatalf("empty environment gave %+v", o)
	}
	if got := o.withDefaults().Endpoint; got != DefaultEndpoint {
		t.Fatalf("default endpoint %s", got)
	}

	t.Setenv("HF_ENDPOINT", "https://hf-mirror.example/")
	if got := OptionsFromEnv().Endpoint; got != "https://hf-mirror.example" {
		t.Fatalf("HF_ENDPOINT gave %q", got)
	}

	// Token file written by `hf auth login`, in HF_HOME.
	t.Setenv("HF_HOME", filepath.Join(home, "hfhome"))
	mustWrite(t, filepath.Join(home, "hfhome", "token"), []byte("hf_fromfile\n"))
	if got := OptionsFromEnv().Token; got != "hf_fromfile" {
		t.Fatalf("token from HF_HOME/token = %q", got)
	}
	t.Setenv("HF_TOKEN_PATH", filepath.Join(home, "elsewhere"))
	mustWrite(t, filepath.Join(home, "elsewhere"), []byte("hf_path"))
	if got := OptionsFromEnv().Token; got != "hf_path" {
		t.Fatalf("token from HF_TOKEN_PATH = %q", got)
	}
	t.Setenv("HF_TOKEN", "hf_env")
	if got := OptionsFromEnv().Token; got != "hf_env" {
		t.Fatalf("HF_TOKEN = %q", got)
	}

	for v, want := range map[string]bool{"1": true, "true": true, "YES": true, "on": true, "0": false, "false": false, "": false} {
		t.Setenv("HF_HUB_OFFLINE", v)
		if got := OptionsFromEnv().Offline; got != want {
			t.Fatalf("HF_HUB_OFFLINE=%q gave offline=%v", v, got)
		}
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("TRANSFORMERS_OFFLINE", "1")
	if !OptionsFromEnv().Offline {
		t.Fatal("TRANSFORMERS_OFFLINE=1 not honoured")
	}
}

func TestIsRepoID(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("local/model", 0o755); err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"Qwen/Qwen3-VL-4B-Instruct":        true,
		"mlboydaisuke/Qwen3-VL-4B-CoreAI":  true,
		"org/name.v2_x":                    true,
		"local/model":                      false, // an existing directory wins
		"gpt2":                             false, // no org: ambiguous with a file name
		"a/b/c":                            false,
		"./x":                              false,
		"/abs/path":                        false,
		"org/-bad":                         false,
		"org/na--me":                       false,
		"org/name.git":                     false,
		"":                                 false,
		"Qwen/Qwen3-VL-4B-Instruct/":       false,
		"~/models/Qwen3-VL":                false,
		"C:/models":                        false,
		"org/" + string(make([]byte, 100)): false,
	} {
		if got := IsRepoID(s); got != want {
			t.Errorf("IsRepoID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestIncludeGlobs(t *testing.T) {
	cases := []struct {
		pattern string
		name    string
		want    bool
	}{
		{"*.json", "config.json", true},
		{"*.json", "gpu-pipelined/x/metadata.json", true}, // fnmatch: '*' crosses '/'
		{"gpu-pipelined/*", "gpu-pipelined/a/b.mlirb", true},
		{"gpu-pipelined/", "gpu-pipelined/a/b.mlirb", true},
		{"gpu-pipelined/", "other/gpu-pipelined/a", false},
		{"model-0000?-of-00002.safetensors", "model-00001-of-00002.safetensors", true},
		{"model-[0-9]*.safetensors", "model-00001-of-00002.safetensors", true},
		{"model-[!0-9]*", "model-00001", false},
		{"[]x]y", "]y", true},
		{"a.b", "axb", false}, // '.' is literal
		{"config.json", "config.json", true},
		{"config.json", "sub/config.json", false},
		{"(x)+", "(x)+", true},
	}
	for _, c := range cases {
		f, err := newFileFilter([]string{c.pattern})
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := f.match(c.name); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
	if f, _ := newFileFilter(nil); !f.match("anything/at/all") {
		t.Error("empty filter must select everything")
	}
	for _, bad := range []string{"", "[abc", "x[!"} {
		if _, err := newFileFilter([]string{bad}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}
