// Package hub downloads model repositories from the Hugging Face Hub into the
// standard Hugging Face cache, so that files already fetched by Python tools
// (transformers, huggingface_hub, `hf download`) are reused and files fetched
// here are reused by them.
//
// Cache layout (the one huggingface_hub writes):
//
//	$HF_HUB_CACHE/models--ORG--NAME/
//	    blobs/<etag>                      file contents, named by git sha1 or LFS sha256
//	    refs/main                         the commit hash "main" last resolved to
//	    snapshots/<commit>/<path>         relative symlinks to ../../blobs/<etag>
//
// vlmrt additionally keeps the repository's file list for each commit in
// models--ORG--NAME/.vlmrt/<commit>.json, so that offline use can tell a
// complete snapshot from a partial one. huggingface_hub ignores that folder.
package hub

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DefaultEndpoint is the Hub used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the branch used when no revision is given.
const DefaultRevision = "main"

// Options configures Download. The zero value is usable: empty fields take the
// defaults described on each field (OptionsFromEnv fills them from the
// environment the way huggingface_hub does).
type Options struct {
	Endpoint string // Hub base URL; "" = DefaultEndpoint
	Token    string // sent as "Authorization: Bearer"; "" = anonymous
	CacheDir string // the hub cache directory; "" = DefaultCacheDir()
	Revision string // branch, tag or commit hash; "" = DefaultRevision

	// Include restricts the download to files whose repository path matches at
	// least one glob. The rules are those of `hf download --include` (Python
	// fnmatch): '*' also matches '/', and a pattern ending in '/' matches
	// everything below that folder. Empty = every file of the repository.
	Include []string

	// Offline forbids network access: the snapshot must already be complete in
	// the cache.
	Offline bool

	// Progress, if set, is called as bytes arrive (and once when a file is
	// complete). It runs on the downloading goroutine, so it must be quick.
	Progress func(Progress)

	// Notice, if set, is told what a download does beyond fetching: that it
	// resumes or redoes what an interrupted earlier run left behind.
	Notice func(string)

	// HTTPClient is used for every request; nil = a client with sane timeouts.
	HTTPClient *http.Client
}

// Progress reports the state of one file being fetched.
type Progress struct {
	Repo  string
	File  string // path inside the repository
	Index int    // 1-based position of File among the files being fetched
	Count int    // number of files being fetched
	Done  int64  // bytes of File present so far (including resumed bytes)
	Total int64  // size of File, or -1 when the server did not say
}

// OptionsFromEnv returns Options filled from the environment variables
// huggingface_hub reads: HF_ENDPOINT, HF_TOKEN (or the token file written by
// `hf auth login`), HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE.
func OptionsFromEnv() Options {
	return Options{
		Endpoint: strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/"),
		Token:    tokenFromEnv(),
		CacheDir: DefaultCacheDir(),
		Offline:  envTrue("HF_HUB_OFFLINE") || envTrue("TRANSFORMERS_OFFLINE"),
	}
}

// DefaultCacheDir returns the hub cache directory: HF_HUB_CACHE, else the
// legacy HUGGINGFACE_HUB_CACHE, else HF_HOME/hub.
func DefaultCacheDir() string {
	for _, v := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(v); d != "" {
			return expandHome(d)
		}
	}
	return filepath.Join(hfHome(), "hub")
}

// hfHome is HF_HOME, else $XDG_CACHE_HOME/huggingface, else
// ~/.cache/huggingface — the order huggingface_hub uses.
func hfHome() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return expandHome(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(expandHome(d), "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		// No home directory (some CI containers): a relative cache is better
		// than failing before the user even asked for a download.
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// tokenFromEnv returns HF_TOKEN, the legacy HUGGING_FACE_HUB_TOKEN, or the
// contents of the token file (HF_TOKEN_PATH, default HF_HOME/token).
func tokenFromEnv() string {
	for _, v := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := strings.TrimSpace(os.Getenv(v)); t != "" {
			return t
		}
	}
	p := os.Getenv("HF_TOKEN_PATH")
	if p == "" {
		p = filepath.Join(hfHome(), "token")
	}
	b, err := os.ReadFile(expandHome(p))
	if err != nil {
		return "" // no token file simply means anonymous access
	}
	return strings.TrimSpace(string(b))
}

// envTrue reports whether the variable holds one of the values
// huggingface_hub treats as true.
func envTrue(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(name))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// expandHome resolves a leading "~/" as Python's expanduser does, since users
// copy these values from Python-oriented instructions.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// withDefaults fills the empty fields of o.
func (o Options) withDefaults() Options {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Revision == "" {
		o.Revision = DefaultRevision
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultClient
	}
	return o
}
