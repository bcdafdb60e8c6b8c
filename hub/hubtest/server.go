// Package hubtest runs a local imitation of the Hugging Face Hub's download
// endpoints for tests, so that no test touches the network:
//
//	GET  /api/models/{org}/{name}/revision/{rev}[?blobs=true]   file listing
//	GET  /{org}/{name}/resolve/{rev}/{path}                     file content
//	HEAD /{org}/{name}/resolve/{rev}/{path}                     file metadata
//
// It answers with the headers the real Hub sends (X-Repo-Commit, ETag,
// X-Linked-Etag, X-Linked-Size, X-Error-Code), serves LFS files through a 302
// to a separate "CDN" path as the Hub does, honours Range requests, and can
// be told to misbehave: drop a connection mid-file, ignore Range, publish a
// wrong checksum, demand a token.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// File is one file of the imitated repository.
type File struct {
	Path string
	Data []byte
	LFS  bool // served like an LFS file: sha256 etag, redirect to the CDN
}

// Request is what the server saw of one request.
type Request struct {
	Method string
	Path   string // unescaped URL path
	Range  string // the Range header, "" if none
	Auth   string // the Authorization header, "" if none
}

// Server imitates the Hub for one repository at one commit. Set the knobs
// before the requests they should affect; they are read under the lock.
type Server struct {
	*httptest.Server
	Repo   string
	Commit string

	mu    sync.Mutex
	files map[string]File
	log   []Request

	// Token, when set, makes file requests without "Bearer <Token>" fail the
	// way the Hub fails for a gated repository (401, X-Error-Code GatedRepo).
	Token string
	// DropAfter makes the next GET of a file send that many bytes of the body
	// (with the full Content-Length announced) and then cut the connection.
	// Each entry applies once.
	DropAfter map[string]int64
	// StallAfter makes the next GET of a file send that many bytes and then
	// send nothing more, keeping the connection open until the client gives
	// up. Each entry applies once.
	StallAfter map[string]int64
	// IgnoreRange makes file GETs answer 200 with the whole file even when a
	// Range is requested, as some proxies do.
	IgnoreRange bool
	// WrongSHA256 lists LFS files whose published sha256 (listing and
	// X-Linked-Etag) is wrong, to imitate corruption in transit.
	WrongSHA256 map[string]bool
	// Throttle, when set, makes file bodies go out in 64 KiB pieces with
	// this pause between them, so a download takes long enough to be
	// interrupted part-way (the crash-consistency tests kill a client).
	Throttle time.Duration
	// NoBlobs makes the listing omit sizes, blob ids and LFS data, as the
	// Hub does without ?blobs=true, so the client must ask HEAD for etags.
	NoBlobs bool
}

// NewServer starts a server for repo ("org/name") at commit with files.
func NewServer(repo, commit string, files []File) *Server {
	s := &Server{Repo: repo, Commit: commit, files: map[string]File{}, DropAfter: map[string]int64{}, StallAfter: map[string]int64{}, WrongSHA256: map[string]bool{}}
	for _, f := range files {
		s.files[f.Path] = f
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetRequests forgets the requests seen so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// SHA256 returns the hex sha256 of a file's content.
func SHA256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// GitBlobID returns the git object id of a file's content, which the Hub
// uses as the ETag of files stored in git (not LFS).
func GitBlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// Etag returns the blob name the cache uses for a file.
func (s *Server) Etag(f File) string {
	if f.LFS {
		if s.WrongSHA256[f.Path] {
			return strings.Repeat("0", 64)
		}
		return SHA256(f.Data)
	}
	return GitBlobID(f.Data)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization")})
	s.mu.Unlock()

	if strings.HasPrefix(r.URL.Path, "/cdn/") {
		s.serveCDN(w, r)
		return
	}
	// Parse the escaped path: a revision may hold an escaped '/'.
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		s.serveInfo(w, r, rest)
		return
	}
	repoPrefix := "/" + s.Repo + "/resolve/"
	if rest, ok := strings.CutPrefix(p, repoPrefix); ok {
		s.serveResolve(w, r, rest)
		return
	}
	w.Header().Set("X-Error-Code", "RepoNotFound")
	http.Error(w, "repository not found", http.StatusUnauthorized)
}

// revision maps a requested revision to the commit, or reports it unknown.
func (s *Server) revision(w http.ResponseWriter, rev string) bool {
	if rev == "main" || rev == s.Commit {
		return true
	}
	w.Header().Set("X-Error-Code", "RevisionNotFound")
	http.Error(w, "revision not found", http.StatusNotFound)
	return false
}

func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request, rest string) {
	repoAndRev, ok := strings.CutPrefix(rest, s.Repo+"/revision/")
	if !ok {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "repository not found", http.StatusUnauthorized)
		return
	}
	rev, err := url.PathUnescape(repoAndRev)
	if err != nil || !s.revision(w, rev) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type lfs struct {
		SHA256      string `json:"sha256"`
		Size        int64  `json:"size"`
		PointerSize int64  `json:"pointerSize"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		Size      *int64 `json:"size,omitempty"`
		BlobID    string `json:"blobId,omitempty"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	blobs := r.URL.Query().Get("blobs") == "true" && !s.NoBlobs
	var sib []sibling
	for _, name := range s.names() {
		f := s.files[name]
		e := sibling{RFilename: name}
		if blobs {
			size := int64(len(f.Data))
			e.Size = &size
			e.BlobID = GitBlobID(f.Data)
			if f.LFS {
				ptr := s.pointer(f)
				e.BlobID = GitBlobID(ptr)
				e.LFS = &lfs{SHA256: s.Etag(f), Size: size, PointerSize: int64(len(ptr))}
			}
		}
		sib = append(sib, e)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": s.Repo, "sha": s.Commit, "siblings": sib})
}

// pointer is the git-lfs pointer file that git stores for an LFS file.
func (s *Server) pointer(f File) []byte {
	return []byte(fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", SHA256(f.Data), len(f.Data)))
}

func (s *Server) names() []string {
	var n []string
	for k := range s.files {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, rest string) {
	// Like the Hub, a gated repository lists its files to anyone but serves
	// them only to accounts that accepted its terms.
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to model "+s.Repo+" is restricted.")
		http.Error(w, "gated", http.StatusUnauthorized)
		return
	}
	rev, escName, ok := strings.Cut(rest, "/")
	if !ok {
		http.Error(w, "bad resolve path", http.StatusBadRequest)
		return
	}
	rev, err1 := url.PathUnescape(rev)
	name, err2 := url.PathUnescape(escName)
	if err1 != nil || err2 != nil {
		http.Error(w, "bad resolve path", http.StatusBadRequest)
		return
	}
	if !s.revision(w, rev) {
		return
	}
	s.mu.Lock()
	f, ok := s.files[name]
	s.mu.Unlock()
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.Header().Set("X-Repo-Commit", s.Commit)
		http.Error(w, "entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", s.Commit)
	if f.LFS {
		// The Hub answers LFS files with a redirect to its CDN; the redirect
		// carries the content's sha256 and size.
		w.Header().Set("X-Linked-Etag", `"`+s.Etag(f)+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.Data)))
		w.Header().Set("ETag", `"`+GitBlobID(s.pointer(f))+`"`)
		// Absolute, as the real CDN is another host; clients tell a CDN
		// redirect from a renamed-repository one by that.
		w.Header().Set("Location", "http://"+r.Host+"/cdn/"+url.PathEscape(name))
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+GitBlobID(f.Data)+`"`)
	s.serveBody(w, r, f)
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/cdn/")
	s.mu.Lock()
	f, ok := s.files[name]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.serveBody(w, r, f)
}

// serveBody writes a file's content, honouring "Range: bytes=N-" unless told
// not to, and cutting the connection where DropAfter says.
func (s *Server) serveBody(w http.ResponseWriter, r *http.Request, f File) {
	data := f.Data
	start := int64(0)
	status := http.StatusOK
	s.mu.Lock()
	ignoreRange := s.IgnoreRange
	drop, dropping := s.DropAfter[f.Path]
	if dropping && r.Method == http.MethodGet {
		delete(s.DropAfter, f.Path)
	} else {
		dropping = false
	}
	stall, stalling := s.StallAfter[f.Path]
	if stalling && r.Method == http.MethodGet {
		delete(s.StallAfter, f.Path)
	} else {
		stalling = false
	}
	throttle := s.Throttle
	s.mu.Unlock()

	if rg := r.Header.Get("Range"); rg != "" && !ignoreRange {
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
		if err != nil || !strings.HasPrefix(rg, "bytes=") || !strings.HasSuffix(rg, "-") {
			http.Error(w, "unsupported range", http.StatusBadRequest)
			return
		}
		if n >= int64(len(data)) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(data)-1, len(data)))
	}
	body := data[start:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Accept-Ranges", "bytes")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if dropping && drop < int64(len(body)) {
		w.Write(body[:drop])
		w.(http.Flusher).Flush()
		// Abort: the server closes the connection without finishing the
		// announced Content-Length, as a network failure would.
		panic(http.ErrAbortHandler)
	}
	if stalling && stall < int64(len(body)) {
		w.Write(body[:stall])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	for throttle > 0 && len(body) > 64<<10 {
		if _, err := w.Write(body[:64<<10]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		body = body[64<<10:]
		time.Sleep(throttle)
	}
	w.Write(body)
}
