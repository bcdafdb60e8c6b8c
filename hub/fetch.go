package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// stallTimeout is how long a download may receive nothing before the
// connection is dropped and the download resumed. A variable so tests can
// shorten it.
var stallTimeout = 60 * time.Second

// maxStalledAttempts bounds the retries that make no progress at all; an
// attempt that received bytes resets the count, so a flaky but working
// connection still finishes a large file.
const maxStalledAttempts = 3

// fileJob is one file to bring into blobs/.
type fileJob struct {
	name  string // repository path
	etag  string // blob name: sha256 (LFS) or git sha1
	size  int64  // expected size, -1 if unknown
	blob  string // final path blobs/<etag>
	index int
	count int
}

// fetchBlob downloads job into blobs/<etag>.incomplete, resuming whatever a
// previous attempt left there, verifies it, and renames it into place. The
// rename is the commit point: a blob file that exists is always complete.
func (c *client) fetchBlob(ctx context.Context, commit string, job fileJob) error {
	partial := job.blob + ".incomplete"
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", job.name, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", job.name, err)
	}
	offset := st.Size()
	if job.size >= 0 && offset > job.size {
		// Longer than the file can be: not a prefix of it.
		c.notice(fmt.Sprintf("%s: discarding an interrupted download of %d bytes (longer than the file's %d); starting over", job.name, offset, job.size))
		offset = 0
	} else if offset > 0 && offset == job.size {
		c.notice(fmt.Sprintf("%s: an interrupted download had received all %d bytes; checking and keeping them", job.name, offset))
	} else if offset > 0 {
		// The bytes are checked with the rest: the hash covers the whole file.
		c.notice(fmt.Sprintf("%s: resuming an interrupted download at byte %d of %s", job.name, offset, sizeText(job.size)))
	}
	if err := f.Truncate(offset); err != nil {
		return fmt.Errorf("%s: %w", job.name, err)
	}

	v := verifierFor(job)
	stalled := 0
	for {
		n, err := c.fetchRange(ctx, commit, job, f, &offset, v)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ne *networkError
		if !errors.As(err, &ne) {
			return err
		}
		if n > 0 {
			stalled = 0
		} else if stalled++; stalled >= maxStalledAttempts {
			return fmt.Errorf("downloading %s/%s: %w (the %d bytes received so far are kept in %s; run the command again to resume)",
				c.repo, job.name, err, offset, partial)
		}
	}

	if job.size >= 0 && offset != job.size {
		return fmt.Errorf("%s/%s: downloaded %d bytes but the Hub lists %d", c.repo, job.name, offset, job.size)
	}
	if err := v.check(f, offset, job.name); err != nil {
		f.Close()
		os.Remove(partial)
		ok = true
		return err
	}
	// Sync before the rename so a crash cannot leave a complete-looking blob
	// whose data never reached the disk.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", job.name, err)
	}
	if err := f.Close(); err != nil {
		ok = true
		return fmt.Errorf("%s: %w", job.name, err)
	}
	ok = true
	if err := os.Rename(partial, job.blob); err != nil {
		return fmt.Errorf("%s: %w", job.name, err)
	}
	return nil
}

// fetchRange performs one GET from *offset to the end of the file, appending
// to f and advancing *offset. It returns the bytes received. A transport
// failure mid-body comes back as *networkError with *offset at the last byte
// safely written, ready for a Range request.
func (c *client) fetchRange(ctx context.Context, commit string, job fileJob, f *os.File, offset *int64, v *verifier) (int64, error) {
	if job.size >= 0 && *offset == job.size && job.size > 0 {
		return 0, nil // a previous run got every byte but stopped before the rename
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	header := http.Header{}
	if *offset > 0 {
		header.Set("Range", fmt.Sprintf("bytes=%d-", *offset))
	}
	resp, err := c.do(rctx, http.MethodGet, c.fileURL(commit, job.name), header, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	total := job.size
	switch {
	case resp.StatusCode == http.StatusPartialContent && *offset > 0:
		start, size, perr := parseContentRange(resp.Header.Get("Content-Range"))
		if perr != nil || start != *offset {
			return 0, fmt.Errorf("%s/%s: the server answered the resume request at byte %d with Content-Range %q",
				c.repo, job.name, *offset, resp.Header.Get("Content-Range"))
		}
		if total < 0 {
			total = size
		}
	case resp.StatusCode == http.StatusOK:
		// The server ignored Range (or there was none): start over.
		if *offset > 0 {
			*offset = 0
			if err := f.Truncate(0); err != nil {
				return 0, fmt.Errorf("%s: %w", job.name, err)
			}
		}
		if total < 0 && resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// The partial file is not a prefix the server recognizes: discard it.
		*offset = 0
		if err := f.Truncate(0); err != nil {
			return 0, fmt.Errorf("%s: %w", job.name, err)
		}
		c.notice(fmt.Sprintf("%s: the server refused to resume at the kept bytes; starting over", job.name))
		return 0, &networkError{fmt.Errorf("server rejected resume range; restarting %s", job.name)}
	default:
		return 0, c.statusError(resp, job.name)
	}

	if _, err := f.Seek(*offset, io.SeekStart); err != nil {
		return 0, fmt.Errorf("%s: %w", job.name, err)
	}
	if err := v.catchUp(f, *offset); err != nil {
		return 0, fmt.Errorf("%s: re-reading the partial download: %w", job.name, err)
	}
	c.report(job, *offset, total)

	// The watchdog cancels the request when no byte arrives for stallTimeout;
	// the error then surfaces from Read and the caller resumes.
	watchdog := time.AfterFunc(stallTimeout, cancel)
	defer watchdog.Stop()

	buf := make([]byte, 1<<20)
	var got int64
	var lastReport time.Time // zero: the first bytes are reported at once
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			watchdog.Reset(stallTimeout)
			if _, werr := f.Write(buf[:n]); werr != nil {
				return got, fmt.Errorf("writing %s: %w", job.name, werr)
			}
			v.write(buf[:n])
			got += int64(n)
			*offset += int64(n)
			if time.Since(lastReport) > 50*time.Millisecond {
				c.report(job, *offset, total)
				lastReport = time.Now()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return got, ctx.Err()
			}
			if rctx.Err() != nil {
				rerr = fmt.Errorf("no data received for %v", stallTimeout)
			}
			return got, &networkError{fmt.Errorf("connection lost after %d bytes of %s: %w", *offset, job.name, rerr)}
		}
	}
	c.report(job, *offset, total)
	return got, nil
}

func (c *client) notice(msg string) {
	if c.opt.Notice != nil {
		c.opt.Notice(msg)
	}
}

func sizeText(n int64) string {
	if n < 0 {
		return "an unknown size"
	}
	return strconv.FormatInt(n, 10)
}

func (c *client) report(job fileJob, done, total int64) {
	if c.opt.Progress != nil {
		c.opt.Progress(Progress{Repo: c.repo, File: job.name, Index: job.index, Count: job.count, Done: done, Total: total})
	}
}

// parseContentRange reads "bytes START-END/SIZE" ("*" size = unknown, -1).
func parseContentRange(s string) (start, size int64, err error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	span, total, ok := strings.Cut(rest, "/")
	first, _, ok2 := strings.Cut(span, "-")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	if start, err = parseSize(first); err != nil {
		return 0, 0, err
	}
	if total == "*" {
		return start, -1, nil
	}
	size, err = parseSize(total)
	return start, size, err
}

func parseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n, nil
}

// verifier hashes a file as it is written. The etag says what to check: a
// 64-hex etag is the sha256 of an LFS file's content, a 40-hex etag the git
// blob id of a regular file (sha1 of "blob SIZE\0" + content). Anything else
// cannot be verified and is accepted as is.
type verifier struct {
	algo   string
	want   string
	size   int64
	h      hash.Hash
	hashed int64 // bytes of the file covered by h
}

func verifierFor(job fileJob) *verifier {
	e := strings.ToLower(job.etag)
	if _, err := hex.DecodeString(e); err != nil {
		return &verifier{}
	}
	switch len(e) {
	case 64:
		return &verifier{algo: "sha256", want: e, size: job.size}
	case 40:
		if job.size >= 0 {
			return &verifier{algo: "git-sha1", want: e, size: job.size}
		}
	}
	return &verifier{}
}

func (v *verifier) reset() {
	v.hashed = 0
	switch v.algo {
	case "sha256":
		v.h = sha256.New()
	case "git-sha1":
		v.h = sha1.New()
		fmt.Fprintf(v.h, "blob %d\x00", v.size)
	}
}

// catchUp makes the hash cover exactly the first n bytes of f (re-reading
// them from disk when resuming a download begun by an earlier run), then
// leaves f positioned at n.
func (v *verifier) catchUp(f *os.File, n int64) error {
	if v.algo == "" {
		return nil
	}
	if v.h != nil && v.hashed == n {
		return nil
	}
	v.reset()
	if n > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyN(v.h, f, n); err != nil {
			return err
		}
		v.hashed = n
	}
	_, err := f.Seek(n, io.SeekStart)
	return err
}

func (v *verifier) write(p []byte) {
	if v.h != nil {
		v.h.Write(p)
		v.hashed += int64(len(p))
	}
}

// check compares the hash of the complete file (n bytes) with the etag.
func (v *verifier) check(f *os.File, n int64, name string) error {
	if v.algo == "" {
		return nil
	}
	if err := v.catchUp(f, n); err != nil {
		return fmt.Errorf("%s: re-reading the download: %w", name, err)
	}
	got := hex.EncodeToString(v.h.Sum(nil))
	if got != v.want {
		return &ChecksumError{File: name, Algo: v.algo, Expected: v.want, Got: got}
	}
	return nil
}
