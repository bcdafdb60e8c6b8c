package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPromptIDs drives `vlmrt run --prompt-ids F [--patches P]` on the tiny
// model with arbitrary bytes in both files: exit 0, or 1/2 with one line on
// stderr — never a panic, a hang or a multi-line dump.
func FuzzPromptIDs(f *testing.F) {
	f.Add([]byte(`[151644, 872, 198, 9707, 151645]`), []byte(nil))
	f.Add([]byte(`[151652, 151655, 151653]`), []byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "))
	f.Add([]byte(`[-1, 999999999]`), []byte(nil))
	f.Add([]byte(`[1e9]`), []byte(nil))
	f.Fuzz(func(t *testing.T, ids, patches []byte) {
		dir := t.TempDir()
		idsFile := filepath.Join(dir, "ids.json")
		os.WriteFile(idsFile, ids, 0o644)
		args := []string{"run", "--model", tinyA, "--prompt-ids", idsFile, "--max-tokens", "1"}
		if len(patches) > 0 {
			p := filepath.Join(dir, "p.safetensors")
			os.WriteFile(p, patches, 0o644)
			args = append(args, "--patches", p)
		}
		_, errOut, code := runCLI(t, "", args...)
		if code != 0 && (code > 2 || strings.Count(strings.TrimSpace(errOut), "\n") > 0 || errOut == "") {
			t.Fatalf("exit %d with stderr %q", code, errOut)
		}
	})
}
