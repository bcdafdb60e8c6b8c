package hub

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/hub/hubtest"
)

// TestDownloadKilled SIGKILLs a download (a child process running
// Download against a local, throttled imitation of the Hub) at several
// moments: afterwards every file the snapshot shows and every blob is
// complete and correct — an interrupted file exists only as
// blobs/<etag>.incomplete, which nothing loads — and the next Download
// resumes what was left, says so, and completes the snapshot.
func TestDownloadKilled(t *testing.T) {
	if cache := os.Getenv("VLMRT_HUB_CHILD_CACHE"); cache != "" {
		_, err := Download(context.Background(), testRepo, Options{Endpoint: os.Getenv("VLMRT_HUB_CHILD_URL"), CacheDir: cache})
		if err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := newHub(t)
	// About 80 pieces of 64 KiB over the two shards: the whole download
	// takes around half a second plus the child's start.
	s.Throttle = 5 * time.Millisecond
	files := fixture()

	full := t.TempDir()
	start := time.Now()
	if err := runHubChild(exe, s.URL, full, 0); err != nil {
		t.Fatal(err)
	}
	whole := time.Since(start)
	kills, resumed := 0, 0
	for _, frac := range []float64{0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97} {
		cache := t.TempDir()
		if runHubChild(exe, s.URL, cache, time.Duration(frac*float64(whole))) != nil {
			kills++
		}
		checkConsistent(t, cache, files, s)

		var notices []string
		opt := testOptions(s, cache)
		opt.Notice = func(m string) { notices = append(notices, m) }
		snap, err := Download(context.Background(), testRepo, opt)
		if err != nil {
			t.Fatalf("killed at %.0f%%: the next download: %v", 100*frac, err)
		}
		checkSnapshot(t, s, cache, snap, files)
		for _, n := range notices {
			if strings.Contains(n, "resuming an interrupted download") {
				resumed++
			}
		}
		t.Logf("killed at %3.0f%% of %v: rerun notices %q", 100*frac, whole.Round(time.Millisecond), notices)
	}
	if kills == 0 || resumed == 0 {
		t.Fatalf("%d downloads killed mid-way, %d reruns resumed a partial file: the kills missed the transfer", kills, resumed)
	}
}

// checkConsistent checks the cache a killed download left: every blob
// under its final name and every file reachable in a snapshot is complete
// with the right content; partial data sits only in *.incomplete files.
func checkConsistent(t *testing.T, cache string, files []hubtest.File, s *hubtest.Server) {
	t.Helper()
	byEtag, byPath := map[string][]byte{}, map[string][]byte{}
	for _, f := range files {
		byEtag[s.Etag(f)], byPath[f.Path] = f.Data, f.Data
	}
	repo := filepath.Join(cache, "models--Qwen--Tiny-VL")
	blobs, _ := os.ReadDir(filepath.Join(repo, "blobs"))
	for _, b := range blobs {
		name := b.Name()
		if strings.HasSuffix(name, ".incomplete") || strings.HasSuffix(name, ".lock") {
			continue
		}
		want, ok := byEtag[name]
		got, err := os.ReadFile(filepath.Join(repo, "blobs", name))
		if !ok || err != nil || string(got) != string(want) {
			t.Fatalf("blob %s is not a complete file of the repository (%d bytes, read error %v)", name, len(got), err)
		}
	}
	snaps := filepath.Join(repo, "snapshots")
	filepath.WalkDir(snaps, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".vlmrt-link-") {
			return nil
		}
		rel, _ := filepath.Rel(filepath.Join(snaps, testCommit), p)
		got, rerr := os.ReadFile(p)
		if want, ok := byPath[filepath.ToSlash(rel)]; !ok || rerr != nil || string(got) != string(want) {
			t.Fatalf("snapshot file %s is not complete (%d bytes, read error %v)", rel, len(got), rerr)
		}
		return nil
	})
}

// runHubChild runs Download in a child process into cache and SIGKILLs it
// after d (0: let it finish). It returns nil when the child finished
// cleanly.
func runHubChild(exe, url, cache string, d time.Duration) error {
	cmd := exec.Command(exe, "-test.run=^TestDownloadKilled$")
	cmd.Env = append(os.Environ(), "VLMRT_HUB_CHILD_CACHE="+cache, "VLMRT_HUB_CHILD_URL="+url)
	if err := cmd.Start(); err != nil {
		return err
	}
	if d > 0 {
		timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
		defer timer.Stop()
	}
	return cmd.Wait()
}
