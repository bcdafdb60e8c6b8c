package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Download makes the files of repo at opt.Revision (those matching
// opt.Include) available in the Hugging Face cache and returns the snapshot
// directory, snapshots/<commit>, whose layout mirrors the repository.
//
// Files already in the cache, by whichever tool put them there, are not
// fetched again. A revision given as a commit hash whose snapshot is known to
// be complete needs no network at all. When opt.Offline is set or the Hub
// cannot be reached, the cached snapshot is used if it is complete; otherwise
// the error (a *MissingFilesError, or one matching ErrNotCached) says what is
// missing.
func Download(ctx context.Context, repo string, opt Options) (string, error) {
	opt = opt.withDefaults()
	if err := validRepoID(repo); err != nil {
		return "", err
	}
	if err := validRevision(opt.Revision); err != nil {
		return "", err
	}
	filter, err := newFileFilter(opt.Include)
	if err != nil {
		return "", err
	}
	cacheDir, err := filepath.Abs(opt.CacheDir)
	if err != nil {
		return "", fmt.Errorf("cache directory %q: %w", opt.CacheDir, err)
	}
	rc := repoCache{dir: repoDir(cacheDir, repo), repo: repo}

	if commitPattern.MatchString(opt.Revision) {
		if missing, ok := rc.missingFromSnapshot(opt.Revision, filter); ok && len(missing) == 0 {
			return rc.snapshot(opt.Revision), nil
		}
	}
	if opt.Offline {
		return fromCache(rc, opt.Revision, filter, "offline mode (HF_HUB_OFFLINE is set)")
	}

	c := &client{opt: opt, repo: repo}
	info, err := c.fetchRepoInfo(ctx)
	if err != nil {
		var ne *networkError
		if errors.As(err, &ne) {
			return fromCache(rc, opt.Revision, filter, fmt.Sprintf("cannot reach %s (%v)", opt.Endpoint, ne.err))
		}
		return "", err
	}
	if err := rc.writeRef(opt.Revision, info.SHA); err != nil {
		return "", fmt.Errorf("recording revision %s of %s in the cache: %w", opt.Revision, repo, err)
	}
	// The file list only sharpens later offline checks, so a cache shared
	// read-only (every file already present) must not fail for want of it.
	_ = rc.writeManifest(info)

	jobs, err := plan(ctx, c, rc, info, filter)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(rc.dir, "blobs"), 0o755); err != nil {
		return "", err
	}
	for i := range jobs {
		j := &jobs[i]
		j.index, j.count = i+1, len(jobs)
		if err := fetchLocked(ctx, c, rc, info.SHA, *j); err != nil {
			return "", err
		}
		if err := linkSnapshot(j.blob, rc.pointer(info.SHA, j.name)); err != nil {
			return "", fmt.Errorf("linking %s into the snapshot: %w", j.name, err)
		}
	}
	return rc.snapshot(info.SHA), nil
}

// fetchLocked downloads one blob while holding its cross-process lock,
// unless another process completed it while this one waited.
func fetchLocked(ctx context.Context, c *client, rc repoCache, commit string, j fileJob) error {
	unlock, err := lockBlob(ctx, rc.lockPath(j.etag))
	if err != nil {
		return fmt.Errorf("locking %s for download: %w", j.name, err)
	}
	defer unlock()
	if present(j.blob, j.size) {
		return nil
	}
	return c.fetchBlob(ctx, commit, j)
}

// plan links every selected file whose blob is already cached and returns
// the ones that must be downloaded.
func plan(ctx context.Context, c *client, rc repoCache, info *repoInfo, filter fileFilter) ([]fileJob, error) {
	var jobs []fileJob
	selected := 0
	for _, s := range info.Siblings {
		if !filter.match(s.RFilename) {
			continue
		}
		selected++
		size := s.size()
		ptr := rc.pointer(info.SHA, s.RFilename)
		if present(ptr, size) {
			continue
		}
		etag := s.etag()
		if etag == "" {
			var err error
			if etag, size, err = c.headEtag(ctx, info.SHA, s.RFilename); err != nil {
				return nil, err
			}
		} else if _, err := normalizeEtag(etag); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", rc.repo, s.RFilename, err)
		}
		blob := rc.blob(etag)
		if present(blob, size) {
			if err := linkSnapshot(blob, ptr); err != nil {
				return nil, fmt.Errorf("linking %s into the snapshot: %w", s.RFilename, err)
			}
			continue
		}
		jobs = append(jobs, fileJob{name: s.RFilename, etag: etag, size: size, blob: blob})
	}
	if selected == 0 {
		if !filter.empty() {
			return nil, fmt.Errorf("no file of %s@%s matches --include %s", rc.repo, info.SHA, filter)
		}
		return nil, fmt.Errorf("%s@%s has no files", rc.repo, info.SHA)
	}
	return jobs, nil
}

// fromCache serves a request from the cache alone; reason says why the Hub
// was not asked and opens every error.
func fromCache(rc repoCache, rev string, filter fileFilter, reason string) (string, error) {
	commit, ok := rc.resolveRef(rev)
	snap := rc.snapshot(commit)
	if st, err := os.Stat(snap); !ok || err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s, and %s@%s is %w (%s); run `vlmrt pull %s` with network access",
			reason, rc.repo, rev, ErrNotCached, filepath.Dir(rc.dir), rc.repo)
	}
	missing, ok := rc.missingFromSnapshot(commit, filter)
	if !ok {
		var found int
		var err error
		missing, found, err = rc.missingByScan(commit, filter)
		if err != nil {
			return "", fmt.Errorf("%s: reading the cached snapshot %s: %w", reason, snap, err)
		}
		if found == 0 {
			what := "no file"
			if !filter.empty() {
				what = "no file matching --include " + filter.String()
			}
			return "", fmt.Errorf("%s, and the cached snapshot %s holds %s: %w", reason, snap, what, ErrNotCached)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", &MissingFilesError{Repo: rc.repo, Revision: rev, Snapshot: snap, Missing: missing, Reason: reason}
	}
	return snap, nil
}
