package hub

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/hub/hubtest"
)

const (
	testRepo   = "Qwen/Tiny-VL"
	testCommit = "3f2a9c1e5b7d8f0a1c2e4b6d8f0a2c4e6b8d0f1a"
)

// fixture is a small repository shaped like the real ones: JSON files kept
// in git, safetensors shards in LFS (two of them, with an index), and the
// Core AI bundle folders under gpu-pipelined/.
func fixture() []hubtest.File {
	rng := rand.New(rand.NewSource(7))
	blob := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	return []hubtest.File{
		{Path: "config.json", Data: []byte(`{"model_type":"qwen3_vl"}`)},
		{Path: "tokenizer.json", Data: []byte(`{"version":"1.0","model":{"type":"BPE"}}`)},
		{Path: "model.safetensors.index.json", Data: []byte(`{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`)},
		{Path: "model-00001-of-00002.safetensors", Data: blob(3<<20 + 17), LFS: true},
		{Path: "model-00002-of-00002.safetensors", Data: blob(1<<20 + 5), LFS: true},
		{Path: "gpu-pipelined/qwen3_vl_4b_instruct_vision/metadata.json", Data: []byte(`{"metadata_version":"0.2","kind":"vision"}`)},
		{Path: "gpu-pipelined/qwen3_vl_4b_instruct_decode_int8hu_s1/metadata.json", Data: []byte(`{"metadata_version":"0.2","kind":"vlm"}`)},
	}
}

func newHub(t *testing.T) *hubtest.Server {
	t.Helper()
	s := hubtest.NewServer(testRepo, testCommit, fixture())
	t.Cleanup(s.Close)
	return s
}

func testOptions(s *hubtest.Server, cache string) Options {
	return Options{Endpoint: s.URL, CacheDir: cache, HTTPClient: s.Client()}
}

// checkSnapshot verifies that every file of files is in the snapshot with
// the right content, as a relative symlink into blobs/ named by its etag —
// the layout huggingface_hub writes and reads.
func checkSnapshot(t *testing.T, s *hubtest.Server, cache, snap string, files []hubtest.File) {
	t.Helper()
	wantSnap := filepath.Join(cache, "models--Qwen--Tiny-VL", "snapshots", testCommit)
	if snap != wantSnap {
		t.Fatalf("snapshot dir = %s, want %s", snap, wantSnap)
	}
	for _, f := range files {
		p := filepath.Join(snap, filepath.FromSlash(f.Path))
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if !bytes.Equal(got, f.Data) {
			t.Fatalf("%s: content differs from the Hub's (%d bytes vs %d)", f.Path, len(got), len(f.Data))
		}
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatalf("%s is not a symlink: %v", f.Path, err)
		}
		depth := strings.Count(f.Path, "/")
		wantTarget := strings.Repeat("../", depth+2) + "blobs/" + s.Etag(f)
		if filepath.ToSlash(target) != wantTarget {
			t.Fatalf("%s -> %s, want %s", f.Path, target, wantTarget)
		}
	}
	ref, err := os.ReadFile(filepath.Join(cache, "models--Qwen--Tiny-VL", "refs", "main"))
	if err != nil || string(ref) != testCommit {
		t.Fatalf("refs/main = %q (%v), want %s", ref, err, testCommit)
	}
	leftovers, _ := filepath.Glob(filepath.Join(cache, "models--Qwen--Tiny-VL", "blobs", "*.incomplete"))
	if len(leftovers) > 0 {
		t.Fatalf("partial downloads left behind: %v", leftovers)
	}
}

func countRequests(reqs []hubtest.Request, pathPart string) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

func TestDownloadFullRepository(t *testing.T) {
	s := newHub(t)
	cache := t.TempDir()
	opt := testOptions(s, cache)
	opt.Token = "hf_test"
	final := map[string]Progress{}
	opt.Progress = func(p Progress) { final[p.File] = p }

	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	files := fixture()
	checkSnapshot(t, s, cache, snap, files)

	for _, f := range files {
		p, ok := final[f.Path]
		if !ok {
			t.Fatalf("no progress reported for %s", f.Path)
		}
		if p.Done != int64(len(f.Data)) || p.Total != int64(len(f.Data)) || p.Count != len(files) || p.Repo != testRepo {
			t.Fatalf("last progress for %s = %+v, want done = total = %d of %d files", f.Path, p, len(f.Data), len(files))
		}
	}
	for _, r := range s.Requests() {
		if !strings.HasPrefix(r.Path, "/cdn/") && r.Auth != "Bearer hf_test" {
			t.Fatalf("%s %s sent Authorization %q, want the token", r.Method, r.Path, r.Auth)
		}
	}
}

func TestDownloadReusesCache(t *testing.T) {
	s := newHub(t)
	cache := t.TempDir()
	opt := testOptions(s, cache)
	if _, err := Download(context.Background(), testRepo, opt); err != nil {
		t.Fatal(err)
	}

	// Same branch again: one listing request to see where main points, no file.
	s.ResetRequests()
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || countRequests(reqs, "/api/models/") != 1 {
		t.Fatalf("second download of main made requests %+v, want only the listing", reqs)
	}
	checkSnapshot(t, s, cache, snap, fixture())

	// A commit hash whose snapshot is complete needs no request at all.
	s.ResetRequests()
	opt.Revision = testCommit
	if _, err := Download(context.Background(), testRepo, opt); err != nil {
		t.Fatal(err)
	}
	if reqs := s.Requests(); len(reqs) != 0 {
		t.Fatalf("download of a cached commit made requests %+v, want none", reqs)
	}
}

// A cache written by huggingface_hub (same layout, no vlmrt manifest) is
// reused: only the listing is fetched, then every file is found in place.
func TestDownloadReusesPythonCache(t *testing.T) {
	s := newHub(t)
	cache := t.TempDir()
	writePythonCache(t, s, cache, fixture())
	s.ResetRequests()
	snap, err := Download(context.Background(), testRepo, testOptions(s, cache))
	if err != nil {
		t.Fatal(err)
	}
	if reqs := s.Requests(); len(reqs) != 1 || countRequests(reqs, "/api/models/") != 1 {
		t.Fatalf("requests %+v, want only the listing", reqs)
	}
	checkSnapshot(t, s, cache, snap, fixture())
}

// writePythonCache lays files out as huggingface_hub does.
func writePythonCache(t *testing.T, s *hubtest.Server, cache string, files []hubtest.File) {
	t.Helper()
	root := filepath.Join(cache, "models--Qwen--Tiny-VL")
	for _, f := range files {
		blob := filepath.Join(root, "blobs", s.Etag(f))
		mustWrite(t, blob, f.Data)
		ptr := filepath.Join(root, "snapshots", testCommit, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(ptr), 0o755); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Dir(ptr), blob)
		if err := os.Symlink(rel, ptr); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(root, "refs", "main"), []byte(testCommit))
}

func mustWrite(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileByPath(files []hubtest.File, p string) hubtest.File {
	for _, f := range files {
		if f.Path == p {
			return f
		}
	}
	panic("no fixture file " + p)
}

// rangeRequests lists the Range headers of the content requests for a file.
func rangeRequests(reqs []hubtest.Request, name string) []string {
	var out []string
	for _, r := range reqs {
		if r.Method == "GET" && (r.Path == "/cdn/"+name || strings.HasSuffix(r.Path, "/resolve/"+testCommit+"/"+name)) {
			out = append(out, r.Range)
		}
	}
	return out
}

func TestResumeAfterDroppedConnection(t *testing.T) {
	s := newHub(t)
	const shard = "model-00001-of-00002.safetensors"
	const cut = 1<<20 + 123
	s.DropAfter[shard] = cut
	cache := t.TempDir()
	snap, err := Download(context.Background(), testRepo, testOptions(s, cache))
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, fixture())
	// Each attempt goes through the Hub's redirect, so the Range header shows
	// on both the resolve and the CDN request.
	got := rangeRequests(s.Requests(), shard)
	want := []string{"", "", "bytes=1048699-", "bytes=1048699-"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Range headers for %s = %q, want %q", shard, got, want)
	}
}

// An interrupted run (Ctrl-C) leaves its bytes in blobs/<etag>.incomplete;
// the next run continues from there and ends with a verified file.
func TestResumeAfterInterruptedRun(t *testing.T) {
	s := newHub(t)
	const shard = "model-00001-of-00002.safetensors"
	cache := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opt := testOptions(s, cache)
	opt.Include = []string{shard}
	opt.Progress = func(p Progress) {
		if p.Done > 0 {
			cancel()
		}
	}
	// The server writes fast; stall it so the cancel lands mid-file.
	s.StallAfter[shard] = 1 << 20
	if _, err := Download(ctx, testRepo, opt); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted download returned %v, want context.Canceled", err)
	}
	f := fileByPath(fixture(), shard)
	partial := filepath.Join(cache, "models--Qwen--Tiny-VL", "blobs", s.Etag(f)+".incomplete")
	st, err := os.Stat(partial)
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(f.Data)) {
		t.Fatalf("partial download after interruption: %v, size %d", err, sizeOf(st))
	}

	s.ResetRequests()
	opt.Progress = nil
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, []hubtest.File{f})
	got := rangeRequests(s.Requests(), shard)
	if len(got) == 0 || got[0] == "" || got[len(got)-1] != got[0] {
		t.Fatalf("resumed run sent Range headers %q, want bytes=%d-", got, st.Size())
	}
	if want := "bytes=" + strconv.FormatInt(st.Size(), 10) + "-"; got[0] != want {
		t.Fatalf("resumed run sent Range %q, want %q", got[0], want)
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return -1
	}
	return st.Size()
}

// A partial file whose bytes are not the file's (a different version, disk
// corruption) fails verification: the partial is deleted, the error names
// the file and both hashes, and the next run starts clean and succeeds.
func TestCorruptPartialIsDeletedThenRedownloaded(t *testing.T) {
	s := newHub(t)
	const shard = "model-00002-of-00002.safetensors"
	f := fileByPath(fixture(), shard)
	cache := t.TempDir()
	partial := filepath.Join(cache, "models--Qwen--Tiny-VL", "blobs", s.Etag(f)+".incomplete")
	mustWrite(t, partial, bytes.Repeat([]byte{0xAB}, 4096))
	opt := testOptions(s, cache)
	opt.Include = []string{shard}

	_, err := Download(context.Background(), testRepo, opt)
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a checksum error", err)
	}
	if ce.File != shard || ce.Expected != s.Etag(f) || ce.Got == ce.Expected || ce.Algo != "sha256" {
		t.Fatalf("checksum error %+v", ce)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("corrupt partial still present (%v)", err)
	}
	if got := rangeRequests(s.Requests(), shard); len(got) == 0 || got[0] != "bytes=4096-" {
		t.Fatalf("Range headers %q, want a resume at 4096", got)
	}

	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, []hubtest.File{f})
}

func TestRestartWhenServerIgnoresRange(t *testing.T) {
	s := newHub(t)
	s.IgnoreRange = true
	const shard = "model-00002-of-00002.safetensors"
	f := fileByPath(fixture(), shard)
	cache := t.TempDir()
	partial := filepath.Join(cache, "models--Qwen--Tiny-VL", "blobs", s.Etag(f)+".incomplete")
	mustWrite(t, partial, f.Data[:1000])
	opt := testOptions(s, cache)
	opt.Include = []string{shard}
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, []hubtest.File{f})
	if got := rangeRequests(s.Requests(), shard); len(got) == 0 || got[0] != "bytes=1000-" {
		t.Fatalf("Range headers %q, want a resume attempt at 1000", got)
	}
}

func TestStalledConnectionIsResumed(t *testing.T) {
	old := stallTimeout
	stallTimeout = 300 * time.Millisecond
	defer func() { stallTimeout = old }()
	s := newHub(t)
	const shard = "model-00002-of-00002.safetensors"
	s.StallAfter[shard] = 5000
	cache := t.TempDir()
	opt := testOptions(s, cache)
	opt.Include = []string{shard}
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, []hubtest.File{fileByPath(fixture(), shard)})
	if got := rangeRequests(s.Requests(), shard); len(got) < 2 || got[len(got)-1] != "bytes=5000-" {
		t.Fatalf("Range headers %q, want a resume at 5000 after the stall", got)
	}
}

func TestChecksumMismatch(t *testing.T) {
	s := newHub(t)
	const shard = "model-00002-of-00002.safetensors"
	s.WrongSHA256[shard] = true
	cache := t.TempDir()
	_, err := Download(context.Background(), testRepo, testOptions(s, cache))
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a checksum error", err)
	}
	f := fileByPath(fixture(), shard)
	real := hubtest.SHA256(f.Data)
	for _, want := range []string{shard, strings.Repeat("0", 64), real} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %s", err, want)
		}
	}
	blobs := filepath.Join(cache, "models--Qwen--Tiny-VL", "blobs")
	for _, p := range []string{strings.Repeat("0", 64), strings.Repeat("0", 64) + ".incomplete", real} {
		if _, err := os.Stat(filepath.Join(blobs, p)); !os.IsNotExist(err) {
			t.Fatalf("blobs/%s exists after a checksum failure (%v)", p, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(cache, "models--Qwen--Tiny-VL", "snapshots", testCommit, shard)); !os.IsNotExist(err) {
		t.Fatalf("snapshot links a file that failed verification (%v)", err)
	}
}

// A regular (git) file is checked against its git blob id too.
func TestGitBlobChecksum(t *testing.T) {
	files := []hubtest.File{{Path: "config.json", Data: []byte(`{"a":1}`)}}
	s := hubtest.NewServer(testRepo, testCommit, files)
	defer s.Close()
	cache := t.TempDir()
	opt := testOptions(s, cache)
	// Pretend the Hub listed a different blob id: the content cannot match.
	bad := strings.Repeat("1", 40)
	job := fileJob{name: "config.json", etag: bad, size: int64(len(files[0].Data)),
		blob: filepath.Join(cache, "b", bad), index: 1, count: 1}
	if err := os.MkdirAll(filepath.Dir(job.blob), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &client{opt: opt.withDefaults(), repo: testRepo}
	err := c.fetchBlob(context.Background(), testCommit, job)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Algo != "git-sha1" || ce.Got != hubtest.GitBlobID(files[0].Data) {
		t.Fatalf("got %v, want a git-sha1 mismatch", err)
	}
	job.etag = hubtest.GitBlobID(files[0].Data)
	job.blob = filepath.Join(cache, "b", job.etag)
	if err := c.fetchBlob(context.Background(), testCommit, job); err != nil {
		t.Fatal(err)
	}
}

func TestGatedRepository(t *testing.T) {
	s := newHub(t)
	s.Token = "hf_secret"
	cache := t.TempDir()
	opt := testOptions(s, cache)
	_, err := Download(context.Background(), testRepo, opt)
	if !errors.Is(err, ErrAccess) {
		t.Fatalf("got %v, want ErrAccess", err)
	}
	for _, want := range []string{"gated", "HF_TOKEN", testRepo} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %q", err, want)
		}
	}

	opt.Token = "hf_wrong"
	if _, err := Download(context.Background(), testRepo, opt); !errors.Is(err, ErrAccess) || !strings.Contains(err.Error(), "no access") {
		t.Fatalf("with a wrong token: %v", err)
	}

	opt.Token = "hf_secret"
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, fixture())
}

func TestUnknownRepositoryAndRevision(t *testing.T) {
	s := newHub(t)
	opt := testOptions(s, t.TempDir())
	_, err := Download(context.Background(), "Qwen/Nope", opt)
	if !errors.Is(err, ErrAccess) || !strings.Contains(err.Error(), "private or does not exist") {
		t.Fatalf("unknown repo: %v", err)
	}
	opt.Revision = "v9"
	_, err = Download(context.Background(), testRepo, opt)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"v9"`) {
		t.Fatalf("unknown revision: %v", err)
	}
}

func TestOffline(t *testing.T) {
	s := newHub(t)
	cache := t.TempDir()
	opt := testOptions(s, cache)

	opt.Offline = true
	_, err := Download(context.Background(), testRepo, opt)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Fatalf("offline with an empty cache: %v", err)
	}

	opt.Offline = false
	if _, err := Download(context.Background(), testRepo, opt); err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	opt.Offline = true
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, fixture())
	if reqs := s.Requests(); len(reqs) != 0 {
		t.Fatalf("offline download made requests %+v", reqs)
	}

	// Remove one file and one blob: both are listed as missing.
	if err := os.Remove(filepath.Join(snap, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	shard := fileByPath(fixture(), "model-00002-of-00002.safetensors")
	if err := os.Remove(filepath.Join(cache, "models--Qwen--Tiny-VL", "blobs", s.Etag(shard))); err != nil {
		t.Fatal(err)
	}
	_, err = Download(context.Background(), testRepo, opt)
	var me *MissingFilesError
	if !errors.As(err, &me) || !errors.Is(err, ErrNotCached) {
		t.Fatalf("offline with an incomplete snapshot: %v", err)
	}
	if strings.Join(me.Missing, ",") != "model-00002-of-00002.safetensors,tokenizer.json" {
		t.Fatalf("missing = %q", me.Missing)
	}
	if !strings.Contains(err.Error(), "tokenizer.json") || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
		t.Fatalf("error %q does not list the missing files", err)
	}

	// The include filter decides what "complete" means.
	opt.Include = []string{"gpu-pipelined/"}
	if _, err := Download(context.Background(), testRepo, opt); err != nil {
		t.Fatalf("offline, only the bundle folder: %v", err)
	}
}

func TestUnreachableHubFallsBackToCache(t *testing.T) {
	s := newHub(t)
	cache := t.TempDir()
	opt := testOptions(s, cache)
	if _, err := Download(context.Background(), testRepo, opt); err != nil {
		t.Fatal(err)
	}
	s.Close() // nothing listens there any more
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatalf("unreachable Hub with a complete cache: %v", err)
	}
	checkSnapshot(t, s, cache, snap, fixture())

	if err := os.Remove(filepath.Join(snap, "config.json")); err != nil {
		t.Fatal(err)
	}
	_, err = Download(context.Background(), testRepo, opt)
	var me *MissingFilesError
	if !errors.As(err, &me) || strings.Join(me.Missing, ",") != "config.json" || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("unreachable Hub with an incomplete cache: %v", err)
	}

	_, err = Download(context.Background(), "Qwen/Other", opt)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("unreachable Hub, repository never downloaded: %v", err)
	}
}

// Offline use of a cache written by Python tools, which has no file list:
// the snapshot is judged by its own files and its safetensors index.
func TestOfflinePythonCache(t *testing.T) {
	s := newHub(t)
	files := fixture()
	cache := t.TempDir()
	writePythonCache(t, s, cache, files)
	opt := testOptions(s, cache)
	opt.Offline = true
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, files)

	// A shard the index needs is gone, and another's blob was deleted.
	if err := os.Remove(filepath.Join(snap, "model-00001-of-00002.safetensors")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cache, "models--Qwen--Tiny-VL", "blobs", s.Etag(fileByPath(files, "config.json")))); err != nil {
		t.Fatal(err)
	}
	_, err = Download(context.Background(), testRepo, opt)
	var me *MissingFilesError
	if !errors.As(err, &me) || strings.Join(me.Missing, ",") != "config.json,model-00001-of-00002.safetensors" {
		t.Fatalf("got %v, want config.json and the first shard missing", err)
	}

	opt.Include = []string{"*.bin"}
	if _, err := Download(context.Background(), testRepo, opt); !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "*.bin") {
		t.Fatalf("offline, include matching nothing: %v", err)
	}
}

func TestIncludePatterns(t *testing.T) {
	s := newHub(t)
	cache := t.TempDir()
	opt := testOptions(s, cache)
	opt.Include = []string{"gpu-pipelined/*"}
	snap, err := Download(context.Background(), testRepo, opt)
	if err != nil {
		t.Fatal(err)
	}
	var want []hubtest.File
	for _, f := range fixture() {
		if strings.HasPrefix(f.Path, "gpu-pipelined/") {
			want = append(want, f)
		}
	}
	checkSnapshot(t, s, cache, snap, want)
	if _, err := os.Lstat(filepath.Join(snap, "config.json")); !os.IsNotExist(err) {
		t.Fatalf("config.json was downloaded despite --include (%v)", err)
	}
	if n := countRequests(s.Requests(), "/resolve/"); n != len(want) {
		t.Fatalf("%d file requests, want %d", n, len(want))
	}

	opt.Include = []string{"*.gguf"}
	if _, err := Download(context.Background(), testRepo, opt); err == nil || !strings.Contains(err.Error(), "*.gguf") {
		t.Fatalf("include matching nothing: %v", err)
	}
	opt.Include = []string{"[abc"}
	if _, err := Download(context.Background(), testRepo, opt); err == nil || !strings.Contains(err.Error(), "unclosed") {
		t.Fatalf("malformed include: %v", err)
	}
}

// Without blob metadata in the listing the client asks HEAD for each
// file's etag, as huggingface_hub does, and still verifies the content.
func TestListingWithoutBlobMetadata(t *testing.T) {
	s := newHub(t)
	s.NoBlobs = true
	cache := t.TempDir()
	snap, err := Download(context.Background(), testRepo, testOptions(s, cache))
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, s, cache, snap, fixture())
	heads := 0
	for _, r := range s.Requests() {
		if r.Method == "HEAD" {
			heads++
		}
	}
	if heads != len(fixture()) {
		t.Fatalf("%d HEAD requests, want one per file (%d)", heads, len(fixture()))
	}
}

func TestUnsafeFileNameFromServer(t *testing.T) {
	for _, name := range []string{"../escape.json", "a/../../b", "/abs"} {
		s := hubtest.NewServer(testRepo, testCommit, []hubtest.File{{Path: name, Data: []byte("x")}})
		_, err := Download(context.Background(), testRepo, testOptions(s, t.TempDir()))
		s.Close()
		if err == nil || !strings.Contains(err.Error(), "unsafe file name") {
			t.Fatalf("%q: got %v, want an unsafe-name error", name, err)
		}
	}
}

func TestBadArguments(t *testing.T) {
	opt := Options{Endpoint: "http://127.0.0.1:1", CacheDir: t.TempDir()}
	for _, repo := range []string{"", "a/b/c", "-x/y", "a--b/c", "org/name.git", "a/..b", "a b/c"} {
		if _, err := Download(context.Background(), repo, opt); err == nil {
			t.Fatalf("repo %q accepted", repo)
		}
	}
	for _, rev := range []string{"../main", "refs/../../x", "/abs", "a\\b"} {
		opt.Revision = rev
		if _, err := Download(context.Background(), testRepo, opt); err == nil || !strings.Contains(err.Error(), "invalid revision") {
			t.Fatalf("revision %q: %v", rev, err)
		}
	}
}
