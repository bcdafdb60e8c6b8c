package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/safetensors"
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
	set, err := openCheckpointWeights(dir)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Dir: dir, Config: cfg, Tensors: set}, nil
}

// openCheckpointWeights maps a checkpoint's safetensors files and checks
// that every tensor the index names is in the shard it names.
func openCheckpointWeights(dir string) (*safetensors.Set, error) {
	files, index, err := checkpointIndex(dir)
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenSet(files...)
	if err != nil {
		return nil, err
	}
	for name, shard := range index {
		f, ok := set.FileOf(name)
		if !ok || filepath.Base(f.Path()) != shard {
			set.Close()
			return nil, fmt.Errorf("%s: model.safetensors.index.json puts tensor %q in %s, but that shard does not hold it", dir, name, shard)
		}
	}
	return set, nil
}

// checkpointIndex lists the safetensors files of dir — the shards named by
// the index when there is one, else model.safetensors — and, for a sharded
// checkpoint, the index's tensor → shard map.
func checkpointIndex(dir string) ([]string, map[string]string, error) {
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	data, err := os.ReadFile(indexPath)
	if os.IsNotExist(err) {
		single := filepath.Join(dir, "model.safetensors")
		if _, err := os.Stat(single); err != nil {
			return nil, nil, fmt.Errorf("%s: no model.safetensors or model.safetensors.index.json", dir)
		}
		return []string{single}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, nil, fmt.Errorf("%s: malformed JSON: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, nil, fmt.Errorf("%s: empty weight_map", indexPath)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range index.WeightMap {
		if filepath.Base(f) != f || f == ".." {
			return nil, nil, fmt.Errorf("%s: shard name %q must be a plain file name", indexPath, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(dir, f))
		}
	}
	sort.Strings(files)
	return files, index.WeightMap, nil
}

// Close unmaps the checkpoint's files.
func (c *Checkpoint) Close() error { return c.Tensors.Close() }
