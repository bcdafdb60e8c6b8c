package hub

import (
	"errors"
	"fmt"
	"strings"
)

// ErrAccess marks a repository the Hub refused to show: gated, private, or
// missing (the Hub answers 401 for all three to anonymous users).
var ErrAccess = errors.New("no access to repository")

// ErrNotFound marks a revision or file the Hub says does not exist.
var ErrNotFound = errors.New("not found on the Hub")

// ErrNotCached marks an offline request the cache cannot satisfy.
var ErrNotCached = errors.New("not in the local cache")

// MissingFilesError lists what an offline or unreachable-network request
// would have needed to download. It matches ErrNotCached.
type MissingFilesError struct {
	Repo     string
	Revision string
	Snapshot string   // the incomplete snapshot directory
	Missing  []string // repository paths absent from the snapshot
	Reason   string   // why no download was attempted
}

func (e *MissingFilesError) Error() string {
	const show = 20
	list := e.Missing
	more := ""
	if len(list) > show {
		more = fmt.Sprintf(" and %d more", len(list)-show)
		list = list[:show]
	}
	return fmt.Sprintf("%s: the cached snapshot of %s@%s (%s) is incomplete, missing %d file(s): %s%s",
		e.Reason, e.Repo, e.Revision, e.Snapshot, len(e.Missing), strings.Join(list, ", "), more)
}

func (e *MissingFilesError) Is(target error) bool { return target == ErrNotCached }

// ChecksumError reports a downloaded file whose content does not match the
// hash the Hub published for it. The partial download has been deleted.
type ChecksumError struct {
	File     string
	Algo     string // "sha256" for LFS files, "git-sha1" for others
	Expected string
	Got      string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: %s mismatch: the Hub lists %s but the downloaded bytes hash to %s (partial file deleted; retry the download)",
		e.File, e.Algo, e.Expected, e.Got)
}
