package hub

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// repoCache is the cache folder of one repository (models--ORG--NAME).
type repoCache struct {
	dir  string
	repo string
}

func (r repoCache) snapshot(commit string) string {
	return filepath.Join(r.dir, "snapshots", commit)
}

func (r repoCache) pointer(commit, name string) string {
	return filepath.Join(r.snapshot(commit), filepath.FromSlash(name))
}

func (r repoCache) blob(etag string) string {
	return filepath.Join(r.dir, "blobs", etag)
}

// lockPath is where huggingface_hub keeps the lock of a blob download:
// <cache>/.locks/models--ORG--NAME/<etag>.lock.
func (r repoCache) lockPath(etag string) string {
	return filepath.Join(filepath.Dir(r.dir), ".locks", filepath.Base(r.dir), etag+".lock")
}

// manifestPath holds the full file list of a commit as the Hub returned it;
// it is what lets an offline run know which files a snapshot should have.
func (r repoCache) manifestPath(commit string) string {
	return filepath.Join(r.dir, ".vlmrt", commit+".json")
}

// resolveRef maps a revision to a commit: a commit hash is itself, a branch
// or tag is looked up in refs/ (written by us or by huggingface_hub).
func (r repoCache) resolveRef(rev string) (string, bool) {
	if commitPattern.MatchString(rev) {
		return rev, true
	}
	b, err := os.ReadFile(filepath.Join(r.dir, "refs", filepath.FromSlash(rev)))
	if err != nil {
		return "", false
	}
	c := strings.TrimSpace(string(b))
	return c, commitPattern.MatchString(c)
}

// writeRef records what a branch or tag resolved to, only when it changed
// (a read-only shared cache that is already current must not fail).
func (r repoCache) writeRef(rev, commit string) error {
	if rev == commit {
		return nil
	}
	if c, ok := r.resolveRef(rev); ok && c == commit {
		return nil
	}
	return writeFileAtomic(filepath.Join(r.dir, "refs", filepath.FromSlash(rev)), []byte(commit))
}

func (r repoCache) writeManifest(info *repoInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return writeFileAtomic(r.manifestPath(info.SHA), b)
}

func (r repoCache) readManifest(commit string) (*repoInfo, bool) {
	b, err := os.ReadFile(r.manifestPath(commit))
	if err != nil {
		return nil, false
	}
	var info repoInfo
	if json.Unmarshal(b, &info) != nil || info.SHA != commit {
		return nil, false // a damaged manifest is treated as absent
	}
	for _, s := range info.Siblings {
		if validRepoFile(s.RFilename) != nil {
			return nil, false
		}
	}
	return &info, true
}

// present reports whether p (following symlinks) is a regular file of the
// expected size (size < 0: any size).
func present(p string, size int64) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && (size < 0 || st.Size() == size)
}

// missingFromSnapshot checks a commit's snapshot against the selected files
// of its manifest. ok is false when there is no manifest to check against.
func (r repoCache) missingFromSnapshot(commit string, filter fileFilter) (missing []string, ok bool) {
	info, ok := r.readManifest(commit)
	if !ok {
		return nil, false
	}
	for _, s := range info.Siblings {
		if filter.match(s.RFilename) && !present(r.pointer(commit, s.RFilename), s.size()) {
			missing = append(missing, s.RFilename)
		}
	}
	return missing, true
}

// missingByScan judges a snapshot that has no manifest (one written by
// Python tools): every selected file in it must resolve (no symlink left
// dangling by a deleted blob), every shard named by a selected
// *.safetensors.index.json must be there, and at least one file must match.
func (r repoCache) missingByScan(commit string, filter fileFilter) (missing []string, found int, err error) {
	snap := r.snapshot(commit)
	var indexes []string
	have := map[string]bool{}
	err = filepath.WalkDir(snap, func(p string, d fs.DirEntry, werr error) error {
		if werr != nil {
			return werr
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(snap, p)
		name := filepath.ToSlash(rel)
		if !filter.match(name) {
			return nil
		}
		found++
		have[name] = true
		if !present(p, -1) {
			missing = append(missing, name)
			return nil
		}
		if strings.HasSuffix(name, ".safetensors.index.json") {
			indexes = append(indexes, name)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	for _, idx := range indexes {
		shards, err := indexShards(filepath.Join(snap, filepath.FromSlash(idx)))
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", idx, err)
		}
		for _, s := range shards {
			name := path.Join(path.Dir(idx), s)
			if filter.match(name) && !have[name] {
				have[name] = true
				missing = append(missing, name)
			}
		}
	}
	return missing, found, nil
}

// indexShards lists the shard files a safetensors index refers to.
func indexShards(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("malformed safetensors index: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range idx.WeightMap {
		if validRepoFile(f) != nil {
			return nil, fmt.Errorf("safetensors index names an unsafe shard %q", f)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}

// linkSnapshot makes snapshots/<commit>/<name> point at the blob: a relative
// symlink as huggingface_hub makes (so the cache can be moved), else a hard
// link, else a copy where the file system supports neither.
func linkSnapshot(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return err
	}
	// The link is made under a hidden name and renamed over the pointer,
	// so a run killed here leaves the old entry or the new one, never a
	// missing file where one was.
	if rel, err := filepath.Rel(filepath.Dir(pointer), blob); err == nil {
		tmp := filepath.Join(filepath.Dir(pointer), ".vlmrt-link-"+filepath.Base(pointer))
		os.Remove(tmp) // left by a killed run
		if os.Symlink(rel, tmp) == nil {
			if err := os.Rename(tmp, pointer); err != nil {
				os.Remove(tmp)
				return err
			}
			return nil
		}
	}
	if err := os.Remove(pointer); err != nil && !os.IsNotExist(err) {
		return err
	}
	if os.Link(blob, pointer) == nil {
		return nil
	}
	return copyFile(blob, pointer)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".incomplete"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// writeFileAtomic writes through a temporary file and a rename so readers
// (other processes sharing the cache) never see half a ref or manifest.
func writeFileAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}
