package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewUserErrors: what a new user ran into, each a one-line error that
// says what is wrong (issue "Reliability", found when tried as a new user).
func TestNewUserErrors(t *testing.T) {
	dir := t.TempDir()
	// a model.safetensors that is a directory
	dirModel := filepath.Join(dir, "dirmodel")
	os.MkdirAll(filepath.Join(dirModel, "model.safetensors"), 0o755)
	cfg, _ := os.ReadFile(tinyA + "/config.json")
	os.WriteFile(filepath.Join(dirModel, "config.json"), cfg, 0o644)
	// a PNG whose pixel data is cut short
	png, _ := os.ReadFile("../../testdata/images/d02_gradient_640x480.png")
	trunc := filepath.Join(dir, "trunc.png")
	os.WriteFile(trunc, png[:200], 0o644)
	for _, c := range []struct {
		args      []string
		code      int
		want, not string
	}{
		{[]string{"run", "--model", dirModel, "--prompt", "hi"}, 1, "model.safetensors is a directory, not a file", "no such device"},
		{[]string{"run", "--model", tinyA, "--image", filepath.Join(dir, "nope.png"), "--prompt", "hi"}, 1, "nope.png does not exist", "unsupported input"},
		{[]string{"run", "--model", tinyA, "--image", trunc, "--prompt", "hi"}, 1, "png: invalid format", "png: png:"},
		{[]string{"run", "--model", tinyA, "--prompt", "hi", "--threads", "100000"}, 2, "--threads 100000 exceeds this machine's", ""},
		{[]string{"tokenize", "--model", tinyA, "--decode", "151936,999999"}, 2, "token id 151936 is outside the vocabulary (0..151668)", ""},
		{[]string{"tokenize", "--model", tinyA, "--decode", "-1"}, 2, "token id -1 is outside the vocabulary", "flag provided"},
		// flags after the positional argument
		{[]string{"tokenize", "hello", "--model", tinyA}, 0, "", ""},
	} {
		_, errOut, code := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || (c.not != "" && strings.Contains(errOut, c.not)) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, one line containing %q and not %q", c.args, code, errOut, c.code, c.want, c.not)
		}
	}
	out, _, code := runCLI(t, "", "tokenize", "--model", tinyA, "--decode", "9707")
	if code != 0 || strings.TrimSpace(out) != "Hello" {
		t.Errorf("decode 9707: exit %d %q", code, out)
	}
}
