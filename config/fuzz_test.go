package config

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the config.json parser: an error or a
// config whose sizes passed validation, never a panic.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../testdata/tiny-a/config.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"text_config":{"num_hidden_layers":1e9}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		if m.Text.NumLayers <= 0 || m.Text.HiddenSize <= 0 {
			t.Fatalf("accepted a config with %d layers, hidden %d", m.Text.NumLayers, m.Text.HiddenSize)
		}
	})
}
