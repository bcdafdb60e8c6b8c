package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
)

func TestConvertCommand(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"convert", "--from", "../../testdata/tiny-a", "--out", out, "--name", "Tiny A"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	dec := filepath.Join(out, "tiny_a_decode_int8hu_s1")
	if !strings.Contains(stdout.String(), dec) || stderr.Len() != 0 {
		t.Errorf("stdout %q stderr %q: want the bundle paths and no progress bar off a terminal", stdout.String(), stderr.String())
	}
	loc, err := bundle.Resolve(out)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Kind != bundle.KindPortable || loc.Decoder.Dir != dec {
		t.Errorf("converted: %s", loc.Describe())
	}

	// Converting again into the same folder refuses to overwrite.
	stdout.Reset()
	stderr.Reset()
	if code := Main(context.Background(), []string{"convert", "--from", "../../testdata/tiny-a", "--out", out, "--name", "Tiny A"}, nil, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "already exists") {
		t.Errorf("second convert: exit %d, stderr %q", code, stderr.String())
	}
}

func TestConvertCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"convert"},
		{"convert", "--from", "x"},
		{"convert", "--from", "x", "--out", "a", "--into", "b"},
		{"convert", "--from", "x", "--out", "a", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, nil, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr.String())
		}
	}
}
