package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenShardedCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	writeSynthCheckpoint(t, dir, synthDefault, 1, nil)
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if len(ck.Tensors.Files()) != 2 || !ck.Tensors.Has("lm_head.weight") || !ck.Tensors.Has("model.visual.pos_embed.weight") {
		t.Fatalf("sharded checkpoint: %d files", len(ck.Tensors.Files()))
	}
	if ck.Config.Text.HiddenSize != synthDefault.hidden || ck.Config.TieWordEmbeddings {
		t.Fatalf("config %+v", ck.Config.Text)
	}
}

func TestCheckpointErrors(t *testing.T) {
	mk := func(t *testing.T, edit func(dir string, index map[string]any)) string {
		dir := filepath.Join(t.TempDir(), "ck")
		writeSynthCheckpoint(t, dir, synthDefault, 1, nil)
		p := filepath.Join(dir, "model.safetensors.index.json")
		var index map[string]any
		b, _ := os.ReadFile(p)
		json.Unmarshal(b, &index)
		edit(dir, index)
		if len(index) > 0 { // an edit that replaced the file empties the map
			b, _ = json.Marshal(index)
			os.WriteFile(p, b, 0o644)
		}
		return dir
	}
	wm := func(index map[string]any) map[string]any { return index["weight_map"].(map[string]any) }
	cases := []struct {
		name string
		edit func(dir string, index map[string]any)
		want string
	}{
		{"no weights", func(dir string, index map[string]any) {
			os.Remove(filepath.Join(dir, "model.safetensors.index.json"))
			clear(index)
		}, "no model.safetensors or model.safetensors.index.json"},
		{"malformed index", func(dir string, index map[string]any) {
			os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte("{"), 0o644)
			clear(index)
		}, "malformed JSON"},
		{"empty map", func(dir string, index map[string]any) { index["weight_map"] = map[string]any{} }, "empty weight_map"},
		{"shard path", func(dir string, index map[string]any) { wm(index)["lm_head.weight"] = "../x.safetensors" }, "must be a plain file name"},
		{"missing shard", func(dir string, index map[string]any) {
			wm(index)["lm_head.weight"] = "model-00009-of-00009.safetensors"
		}, "model-00009-of-00009.safetensors"},
		{"wrong shard", func(dir string, index map[string]any) {
			for name, shard := range wm(index) {
				if strings.HasPrefix(name, "model.visual.") {
					for _, other := range wm(index) {
						if other != shard {
							wm(index)[name] = other
							return
						}
					}
				}
			}
		}, "that shard does not hold it"},
		{"bad config", func(dir string, index map[string]any) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"text_config": {}}`), 0o644)
		}, "config.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := mk(t, c.edit)
			_, err := OpenCheckpoint(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
