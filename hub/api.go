package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultClient has no overall timeout (a model file takes minutes) but
// bounds connection set-up and the wait for response headers; stalled bodies
// are caught by the watchdog in fetch.go.
var defaultClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	},
}

// repoInfo is the part of GET /api/models/{repo}/revision/{rev}?blobs=true
// that a download needs. With blobs=true every sibling carries its git blob
// id and, for LFS files, the sha256 and size of the real content; those are
// exactly the names huggingface_hub gives the cached blobs (the resolve
// endpoint's ETag / X-Linked-Etag).
type repoInfo struct {
	SHA      string    `json:"sha"`
	Siblings []sibling `json:"siblings"`
}

type sibling struct {
	RFilename string   `json:"rfilename"`
	Size      *int64   `json:"size,omitempty"`
	BlobID    string   `json:"blobId,omitempty"`
	LFS       *lfsInfo `json:"lfs,omitempty"`
}

type lfsInfo struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	PointerSize int64  `json:"pointerSize,omitempty"`
}

// etag is the blob name of the file in the cache, or "" when the listing did
// not include blob metadata.
func (s sibling) etag() string {
	if s.LFS != nil {
		return s.LFS.SHA256
	}
	return s.BlobID
}

// size is the content size, or -1 when unknown.
func (s sibling) size() int64 {
	if s.LFS != nil && s.LFS.Size > 0 {
		return s.LFS.Size
	}
	if s.Size != nil {
		return *s.Size
	}
	return -1
}

// networkError marks a failure to reach the Hub at all (as opposed to an
// HTTP error answer), after which the cache is the fallback.
type networkError struct{ err error }

func (e *networkError) Error() string { return e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// client issues the Hub requests of one Download.
type client struct {
	opt  Options
	repo string
}

// do sends one request with the auth header; transport failures come back
// as *networkError unless the context ended.
func (c *client) do(ctx context.Context, method, rawURL string, header http.Header, hc *http.Client) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", rawURL, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "vlmrt (huggingface_hub-compatible cache)")
	if c.opt.Token != "" {
		// Go drops this header itself when a redirect leaves the Hub's host
		// (LFS files are served from a CDN), as huggingface_hub does.
		req.Header.Set("Authorization", "Bearer "+c.opt.Token)
	}
	if hc == nil {
		hc = c.opt.HTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &networkError{err}
	}
	return resp, nil
}

// fetchRepoInfo lists the repository's files at the requested revision.
func (c *client) fetchRepoInfo(ctx context.Context) (*repoInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.opt.Endpoint, c.repo, url.PathEscape(c.opt.Revision))
	resp, err := c.do(ctx, http.MethodGet, u, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, "")
	}
	var info repoInfo
	// 64 MiB is far above any real listing and keeps a broken server from
	// exhausting memory.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("reading the file list of %s@%s from %s: %w", c.repo, c.opt.Revision, c.opt.Endpoint, err)
	}
	if !commitPattern.MatchString(info.SHA) {
		return nil, fmt.Errorf("the Hub's answer for %s@%s has no commit hash (got sha %q)", c.repo, c.opt.Revision, info.SHA)
	}
	for _, s := range info.Siblings {
		if err := validRepoFile(s.RFilename); err != nil {
			return nil, fmt.Errorf("%s@%s: %w", c.repo, info.SHA, err)
		}
	}
	return &info, nil
}

// fileURL is the resolve URL of one file, pinned to a commit so that every
// file of a snapshot comes from the same commit even if the branch moves.
func (c *client) fileURL(commit, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.opt.Endpoint, c.repo, commit, strings.Join(parts, "/"))
}

// headEtag asks the resolve endpoint for a file's blob name when the listing
// lacked it. Like huggingface_hub it does not follow the redirect to the CDN
// (the Hub's own 302 carries X-Linked-Etag / X-Linked-Size), only relative
// redirects, which the Hub uses for renamed repositories.
func (c *client) headEtag(ctx context.Context, commit, name string) (etag string, size int64, err error) {
	hc := *c.opt.HTTPClient
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		if req.Response != nil {
			if loc, err := url.Parse(req.Response.Header.Get("Location")); err != nil || loc.IsAbs() || loc.Host != "" {
				return http.ErrUseLastResponse
			}
		}
		return nil
	}
	resp, err := c.do(ctx, http.MethodHead, c.fileURL(commit, name), nil, &hc)
	if err != nil {
		return "", 0, err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return "", 0, c.statusError(resp, name)
	}
	raw := resp.Header.Get("X-Linked-Etag")
	if raw == "" {
		raw = resp.Header.Get("ETag")
	}
	if raw == "" {
		return "", 0, fmt.Errorf("%s: the Hub sent no ETag for %s, so it cannot be cached reproducibly", c.repo, name)
	}
	etag, err = normalizeEtag(raw)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %s: %w", c.repo, name, err)
	}
	size = -1
	for _, h := range []string{"X-Linked-Size", "Content-Length"} {
		if v := resp.Header.Get(h); v != "" {
			if n, perr := parseSize(v); perr == nil {
				size = n
				break
			}
		}
	}
	return etag, size, nil
}

// statusError turns an HTTP error answer into a message that says what to do.
// The Hub names the case in X-Error-Code; 401 without a code also covers
// private and nonexistent repositories, which it does not tell apart.
func (c *client) statusError(resp *http.Response, file string) error {
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		msg = strings.TrimSpace(string(b))
	}
	what := c.repo
	if file != "" {
		what = c.repo + "/" + file
	}
	tokenHint := "set HF_TOKEN to a Hugging Face access token (https://huggingface.co/settings/tokens)"
	if c.opt.Token != "" {
		tokenHint = "the token in use (HF_TOKEN or the saved login) has no access to it"
	}
	switch {
	case code == "GatedRepo":
		return fmt.Errorf("%w: %s is a gated model (HTTP %d): accept its license at %s/%s with your account, then %s",
			ErrAccess, c.repo, resp.StatusCode, c.opt.Endpoint, c.repo, tokenHint)
	case code == "RevisionNotFound":
		return fmt.Errorf("%w: revision %q of %s (HTTP %d)", ErrNotFound, c.opt.Revision, c.repo, resp.StatusCode)
	case code == "EntryNotFound":
		return fmt.Errorf("%w: file %s (HTTP %d)", ErrNotFound, what, resp.StatusCode)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || code == "RepoNotFound":
		return fmt.Errorf("%w: %s is gated, private or does not exist (HTTP %d from %s): %s",
			ErrAccess, c.repo, resp.StatusCode, c.opt.Endpoint, tokenHint)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s (HTTP 404 from %s)", ErrNotFound, what, c.opt.Endpoint)
	}
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("%s: HTTP %d from %s%s", what, resp.StatusCode, c.opt.Endpoint, msg)
}
