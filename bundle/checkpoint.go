package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/safetensors"
)

// Checkpoint is an opened Hugging Face Qwen3-VL checkpoint directory:
// config.json plus model.safetensors or a sharded set described by
// model.safetensors.index.json. Its tensors stay memory-mapped.
type Checkpoint struct {
	Dir     string
	Config  *config.Model
	Tensors *safetensors.Set
}

// IsCheckpoint reports whether dir looks like a Hugging Face checkpoint.
func IsCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil {
		return false
	}
	for _, f := range []string{"model.safetensors", "model.safetensors.index.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// OpenCheckpoint opens dir. Errors name the file at fault.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	cfg, err := config.Load(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	files, err := checkpointFiles(dir)
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenSet(files...)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Dir: dir, Config: cfg, Tensors: set}, nil
}

// checkpointFiles lists the safetensors files of dir: the shards named by
// the index when there is one, else model.safetensors.
func checkpointFiles(dir string) ([]string, error) {
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	data, err := os.ReadFile(indexPath)
	if os.IsNotExist(err) {
		single := filepath.Join(dir, "model.safetensors")
		if _, err := os.Stat(single); err != nil {
			return nil, fmt.Errorf("%s: no model.safetensors or model.safetensors.index.json", dir)
		}
		return []string{single}, nil
	}
	if err != nil {
		return nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%s: malformed JSON: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", indexPath)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range index.WeightMap {
		if filepath.Base(f) != f {
			return nil, fmt.Errorf("%s: shard name %q must be a plain file name", indexPath, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(dir, f))
		}
	}
	sort.Strings(files)
	return files, nil
}

// Close unmaps the checkpoint's files.
func (c *Checkpoint) Close() error { return c.Tensors.Close() }
