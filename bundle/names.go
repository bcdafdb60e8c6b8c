package bundle

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Bundle name suffixes, following the published pair: the decoder carries the
// weight scheme (int8 body + untied int8 head, "int8hu") and the single-token
// query shape ("s1") of the graph it mirrors.
const (
	decoderSuffix = "_decode_int8hu_s1"
	visionSuffix  = "_vision"
)

// BundleNames returns the directory names Convert writes for a checkpoint:
// "<base>_decode_int8hu_s1" and "<base>_vision", where base is opts.Name or,
// by default, the checkpoint's name normalized the way the Core AI exporters
// do (Qwen3-VL-4B-Instruct → qwen3_vl_4b_instruct).
func BundleNames(checkpointDir string, opts ConvertOptions) (decoder, vision string, err error) {
	base := opts.Name
	if base == "" {
		base, _ = checkpointName(checkpointDir)
	}
	base = normalizeName(base)
	if base == "" {
		return "", "", fmt.Errorf("cannot derive a bundle name from %q; set a name explicitly", checkpointDir)
	}
	return base + decoderSuffix, base + visionSuffix, nil
}

// checkpointName returns the model's name and, for a Hugging Face cache
// snapshot (…/models--ORG--NAME/snapshots/REV), its repository id. Outside
// the cache the directory's own name is the model's name.
func checkpointName(dir string) (name, repoID string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = filepath.Clean(dir)
	}
	parent := filepath.Dir(abs)
	if filepath.Base(parent) == "snapshots" {
		if repo, ok := strings.CutPrefix(filepath.Base(filepath.Dir(parent)), "models--"); ok {
			repoID = strings.ReplaceAll(repo, "--", "/")
			return repoID[strings.LastIndex(repoID, "/")+1:], repoID
		}
	}
	return filepath.Base(abs), ""
}

// normalizeName lowercases and turns every run of other characters than
// letters and digits into one underscore.
func normalizeName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
		} else {
			under = true
		}
	}
	return b.String()
}
