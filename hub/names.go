package hub

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// repoIDPattern is the Hub's rule for repository ids (huggingface_hub's
// validate_repo_id, restricted to ASCII): an optional "org/" then a name of
// word characters, '-' and '.', starting and ending with a word character.
var repoIDPattern = regexp.MustCompile(`^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?/)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsRepoID reports whether s reads as a Hub repository "ORG/NAME" and is not
// an existing local path. Callers use it to decide whether a --model value
// names something to download or a directory on disk; a local path wins so
// that "models/foo" in the working directory is never shadowed.
func IsRepoID(s string) bool {
	if strings.Count(s, "/") != 1 || validRepoID(s) != nil {
		return false
	}
	_, err := os.Lstat(s)
	return err != nil
}

// validRepoID explains why s cannot be a repository id.
func validRepoID(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty repository id")
	case len(s) > 96:
		return fmt.Errorf("repository id %q is longer than 96 characters", s)
	case !repoIDPattern.MatchString(s):
		return fmt.Errorf("%q is not a Hugging Face repository id (expected ORG/NAME using letters, digits, '-', '_' and '.')", s)
	case strings.Contains(s, "--") || strings.Contains(s, ".."):
		return fmt.Errorf("repository id %q may not contain \"--\" or \"..\"", s)
	case strings.HasSuffix(s, ".git"):
		return fmt.Errorf("repository id %q may not end with .git", s)
	}
	return nil
}

// validRevision rejects revisions that would escape refs/ when used as a
// file name there (branch names may contain '/', e.g. "refs/pr/1").
func validRevision(rev string) error {
	if rev == "" || strings.ContainsAny(rev, "\\\x00") || strings.HasPrefix(rev, "/") {
		return fmt.Errorf("invalid revision %q", rev)
	}
	for _, part := range strings.Split(rev, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("invalid revision %q", rev)
		}
	}
	return nil
}

// validRepoFile rejects repository paths that could write outside the
// snapshot directory: the file list comes from the network, so a hostile or
// broken server must not be able to name "../../x" or "/etc/x".
func validRepoFile(name string) error {
	if name == "" || strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) || path.Clean(name) != name {
		return fmt.Errorf("the Hub listed an unsafe file name %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("the Hub listed an unsafe file name %q", name)
		}
	}
	return nil
}

// blobNamePattern accepts what the Hub uses as etags (hex git sha1, hex
// sha256) and nothing that could act as a path.
var blobNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// normalizeEtag turns an ETag header value into a blob file name, as
// huggingface_hub does (it strips the quotes; weak etags, which the Hub does
// not send for files, lose their W/ too).
func normalizeEtag(etag string) (string, error) {
	e := strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	e = strings.Trim(e, `"`)
	if !blobNamePattern.MatchString(e) || e == "." || e == ".." {
		return "", fmt.Errorf("unusable ETag %q", etag)
	}
	return e, nil
}

// repoDir is the cache folder of a model repository: models--ORG--NAME.
func repoDir(cacheDir, repo string) string {
	return filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repo, "/", "--"))
}
