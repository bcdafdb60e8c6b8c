package config

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func tinyA(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../testdata/tiny-a/config.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func parse(t *testing.T, m map[string]any) (*Model, error) {
	t.Helper()
	b, _ := json.Marshal(m)
	return Parse(b)
}

func TestTinyA(t *testing.T) {
	c, err := Load("../testdata/tiny-a/config.json")
	if err != nil {
		t.Fatal(err)
	}
	tx, v := c.Text, c.Vision
	if tx.HiddenSize != 64 || tx.NumLayers != 5 || tx.NumHeads != 4 || tx.NumKVHeads != 2 || tx.HeadDim != 32 ||
		tx.VocabSize != 151936 || tx.RopeTheta != 5e6 || len(tx.MRopeSection) != 3 || tx.MRopeSection[0] != 6 || !tx.MRopeInterleaved {
		t.Fatalf("text config: %+v", tx)
	}
	if v.Depth != 4 || v.HiddenSize != 64 || v.NumHeads != 4 || v.PosEmbedSide() != 48 || v.PatchDim() != 1536 ||
		len(v.DeepstackIndexes) != 3 || v.DeepstackIndexes[0] != 1 || v.LayerNormEps != 1e-6 || v.HiddenAct != "gelu_pytorch_tanh" {
		t.Fatalf("vision config: %+v", v)
	}
	if !c.TieWordEmbeddings || c.ImageTokenID != 151655 || len(c.EOSTokenIDs) != 1 || c.EOSTokenIDs[0] != 151645 {
		t.Fatalf("model config: %+v", c)
	}
}

// TestRopeParametersSpelling: transformers v5 writes rope_parameters (with
// rope_theta inside) instead of rope_scaling.
func TestRopeParametersSpelling(t *testing.T) {
	m := tinyA(t)
	tc := m["text_config"].(map[string]any)
	rs := tc["rope_scaling"].(map[string]any)
	delete(tc, "rope_scaling")
	delete(tc, "rope_theta")
	rs["rope_theta"] = 1e6
	tc["rope_parameters"] = rs
	tc["eos_token_id"] = []int{151645, 151643}
	tc["tie_word_embeddings"] = false
	delete(m, "tie_word_embeddings")
	c, err := parse(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Text.RopeTheta != 1e6 || c.Text.MRopeSection[1] != 5 || c.TieWordEmbeddings || len(c.EOSTokenIDs) != 2 {
		t.Fatalf("%+v", c)
	}
}

func TestInvalidConfigs(t *testing.T) {
	cases := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"no text_config", func(m map[string]any) { delete(m, "text_config") }, "missing text_config"},
		{"no vision_config", func(m map[string]any) { delete(m, "vision_config") }, "missing vision_config"},
		{"zero layers", func(m map[string]any) { m["text_config"].(map[string]any)["num_hidden_layers"] = 0 }, "num_hidden_layers must be positive"},
		{"gqa", func(m map[string]any) { m["text_config"].(map[string]any)["num_key_value_heads"] = 3 }, "not a multiple"},
		{"section sum", func(m map[string]any) {
			m["text_config"].(map[string]any)["rope_scaling"].(map[string]any)["mrope_section"] = []int{6, 5, 4}
		}, "sums to 15"},
		{"no section", func(m map[string]any) { delete(m["text_config"].(map[string]any), "rope_scaling") }, "mrope_section must have 3 entries"},
		{"not interleaved", func(m map[string]any) {
			m["text_config"].(map[string]any)["rope_scaling"].(map[string]any)["mrope_interleaved"] = false
		}, "interleaved"},
		{"rope type", func(m map[string]any) {
			m["text_config"].(map[string]any)["rope_scaling"].(map[string]any)["rope_type"] = "yarn"
		}, `rope_type "yarn"`},
		{"deepstack range", func(m map[string]any) { m["vision_config"].(map[string]any)["deepstack_visual_indexes"] = []int{1, 9} }, "out of range"},
		{"pos table", func(m map[string]any) { m["vision_config"].(map[string]any)["num_position_embeddings"] = 2300 }, "not a square"},
		{"out hidden", func(m map[string]any) { m["vision_config"].(map[string]any)["out_hidden_size"] = 32 }, "differs from text hidden_size"},
		{"text act", func(m map[string]any) { m["text_config"].(map[string]any)["hidden_act"] = "gelu" }, `hidden_act "gelu" is not supported`},
		{"eos type", func(m map[string]any) { m["text_config"].(map[string]any)["eos_token_id"] = "x" }, "eos_token_id"},
		// Corrupt sizes must fail here: the loaders and inspect size slices from them.
		{"huge layers", func(m map[string]any) { m["text_config"].(map[string]any)["num_hidden_layers"] = 1 << 31 }, "num_hidden_layers = 2147483648 is beyond"},
		{"huge depth", func(m map[string]any) { m["vision_config"].(map[string]any)["depth"] = 1 << 40 }, "depth = 1099511627776 is beyond"},
		{"huge vocab", func(m map[string]any) { m["text_config"].(map[string]any)["vocab_size"] = 1 << 40 }, "vocab_size = 1099511627776 is beyond"},
		{"huge heads", func(m map[string]any) { m["text_config"].(map[string]any)["num_attention_heads"] = 1 << 60 }, "num_attention_heads = 1152921504606846976 is beyond"},
		{"heads × head_dim", func(m map[string]any) {
			tc := m["text_config"].(map[string]any)
			tc["num_attention_heads"], tc["num_key_value_heads"], tc["head_dim"] = 1<<12, 1<<12, 1<<12
		}, "num_attention_heads × head_dim = 16777216 is beyond"},
		{"huge patch", func(m map[string]any) { m["vision_config"].(map[string]any)["patch_size"] = 1 << 30 }, "patch_size = 1073741824 is beyond"},
		{"negative channels", func(m map[string]any) { m["vision_config"].(map[string]any)["in_channels"] = -3 }, "in_channels must be positive, got -3"},
		{"huge pos table", func(m map[string]any) { m["vision_config"].(map[string]any)["num_position_embeddings"] = 1 << 62 }, "num_position_embeddings = 4611686018427387904 is beyond"},
		{"negative eps", func(m map[string]any) { m["text_config"].(map[string]any)["rms_norm_eps"] = -1 }, "rms_norm_eps must be in (0, 1), got -1"},
		{"image id negative", func(m map[string]any) { m["image_token_id"] = -5 }, "image_token_id must be ≥ 0, got -5"},
		{"vision end negative", func(m map[string]any) { m["vision_end_token_id"] = -1 }, "vision_end_token_id must be ≥ 0, got -1"},
	}
	for _, c := range cases {
		m := tinyA(t)
		c.edit(m)
		_, err := parse(t, m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := Parse([]byte("{")); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("bad JSON: %v", err)
	}
	if _, err := Load("nonexistent/config.json"); err == nil {
		t.Error("missing file must fail")
	}
}

// TestErrorNamesFileOnce: Load names the file by its path, Parse as
// "config.json", and neither says it twice.
func TestErrorNamesFileOnce(t *testing.T) {
	m := tinyA(t)
	m["text_config"].(map[string]any)["hidden_size"] = -64
	b, _ := json.Marshal(m)
	_, err := Parse(b)
	if err == nil || err.Error() != "config.json: text_config.hidden_size must be positive, got -64" {
		t.Errorf("Parse: %v", err)
	}
	path := t.TempDir() + "/config.json"
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || err.Error() != path+": text_config.hidden_size must be positive, got -64" {
		t.Errorf("Load: %v", err)
	}
}

// TestConfigNumberKinds: a valid JSON number of the wrong kind (1e9 for a
// layer count) names its key and the kind wanted, without Go type names.
func TestConfigNumberKinds(t *testing.T) {
	m := tinyA(t)
	m["text_config"].(map[string]any)["num_hidden_layers"] = json.Number("1e9")
	m["vision_config"].(map[string]any)["depth"] = "4"
	for _, c := range []struct{ key, want string }{
		{"text_config", "text_config.num_hidden_layers must be an integer (written without a fraction or exponent), got number 1e9"},
	} {
		out, _ := json.Marshal(m)
		_, err := Parse(out)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "malformed") {
			t.Errorf("%s: %v, want %q", c.key, err, c.want)
		}
	}
	m["text_config"].(map[string]any)["num_hidden_layers"] = 2
	out, _ := json.Marshal(m)
	if _, err := Parse(out); err == nil || !strings.Contains(err.Error(), "vision_config.depth must be an integer") {
		t.Errorf("string depth: %v", err)
	}
}
