//go:build hftokenizers

package tokenizer

import (
	"slices"
	"testing"
)

// TestHFMatchesPureGo runs the reference cases through the Rust library too
// (only with -tags hftokenizers and libtokenizers.a on the linker path).
func TestHFMatchesPureGo(t *testing.T) {
	h, err := LoadHF(testDir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, c := range readCases(t) {
		switch c.Type {
		case "encode":
			if got := h.Encode(c.Text); !slices.Equal(got, c.IDs) {
				t.Errorf("%s: hf %v want %v", c.ID, got, c.IDs)
			}
		case "decode":
			if got := h.Decode(c.IDs, false); got != c.Decoded {
				t.Errorf("%s: hf %q want %q", c.ID, got, c.Decoded)
			}
		}
	}
}
