//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package hub

import (
	"context"
	"testing"
	"time"
)

// While another process (here: the test) holds huggingface_hub's lock on a
// blob, Download waits instead of writing the same partial file.
func TestDownloadWaitsForBlobLock(t *testing.T) {
	s := newHub(t)
	cache := t.TempDir()
	const shard = "model-00002-of-00002.safetensors"
	f := fileByPath(fixture(), shard)
	rc := repoCache{dir: repoDir(cache, testRepo), repo: testRepo}
	unlock, err := lockBlob(context.Background(), rc.lockPath(s.Etag(f)))
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions(s, cache)
	opt.Include = []string{shard}
	done := make(chan error, 1)
	go func() {
		_, err := Download(context.Background(), testRepo, opt)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Download finished (%v) while the blob lock was held", err)
	case <-time.After(400 * time.Millisecond):
	}
	if n := len(rangeRequests(s.Requests(), shard)); n != 0 {
		t.Fatalf("%d content requests while the lock was held", n)
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Download still waiting after the lock was released")
	}

	// A cancelled context ends the wait.
	unlock, err = lockBlob(context.Background(), rc.lockPath("other"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := lockBlob(ctx, rc.lockPath("other")); err != context.DeadlineExceeded {
		t.Fatalf("waiting on a held lock with an expiring context: %v", err)
	}
}
