package bundle

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseMetadata feeds arbitrary bytes to the bundle metadata parser:
// an error or metadata, never a panic.
func FuzzParseMetadata(f *testing.F) {
	filepath.WalkDir("../testdata/bundles", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "metadata.json" {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add([]byte(`{"schema_version":"0.2","kind":"vlm"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseMetadata(data)
	})
}

// FuzzCheckpointIndex feeds arbitrary model.safetensors.index.json bytes to
// the checkpoint opener beside a real model.safetensors: an error naming
// the file, or the weights, never a panic.
func FuzzCheckpointIndex(f *testing.F) {
	f.Add([]byte(`{"weight_map":{"model.language_model.norm.weight":"model.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"x":"../../etc/passwd"}}`))
	weights, err := filepath.Abs("../testdata/tiny-a/model.safetensors")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, index []byte) {
		dir := t.TempDir()
		if err := os.Symlink(weights, filepath.Join(dir, "model.safetensors")); err != nil {
			t.Skip("no symlinks here")
		}
		os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), index, 0o644)
		if set, err := openCheckpointWeights(dir); err == nil {
			set.Close()
		}
	})
}
