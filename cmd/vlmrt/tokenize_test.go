package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/tokenizer"
)

const tokenizerDir = "../../testdata/tokenizer"

type tokCase struct {
	Type string  `json:"type"`
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

func TestTokenizeJSONL(t *testing.T) {
	f, err := os.ReadFile(tokenizerDir + "/cases_dev.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	var want [][]int32
	for _, line := range strings.Split(string(f), "\n") {
		var c tokCase
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		if c.Type != "encode" {
			continue
		}
		rec, _ := json.Marshal(map[string]string{"text": c.Text})
		in.Write(rec)
		in.WriteByte('\n')
		want = append(want, c.IDs)
	}
	// One line far beyond bufio.Scanner's 64 KB default.
	long := strings.Repeat("héllo wörld ", 20000)
	rec, _ := json.Marshal(map[string]string{"text": long})
	in.Write(rec) // no trailing newline: the last line must still count
	tok, err := tokenizer.Load(tokenizerDir)
	if err != nil {
		t.Fatal(err)
	}
	longIDs := tok.Encode(long)
	if len(rec) < 200000 || len(longIDs) < 1000 {
		t.Fatalf("long line too short: %d bytes, %d ids", len(rec), len(longIDs))
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"tokenize", "--model", tokenizerDir, "--jsonl"}, &in, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<24)
	i := 0
	for sc.Scan() {
		var out struct {
			IDs []int32 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &out); err != nil {
			t.Fatalf("output line %d: %v", i+1, err)
		}
		if i < len(want) && !slices.Equal(out.IDs, want[i]) {
			t.Errorf("line %d: got %v want %v", i+1, out.IDs, want[i])
		}
		if i == len(want) && !slices.Equal(out.IDs, longIDs) {
			t.Errorf("long line: got %d ids, want the %d of tokenizer.Encode", len(out.IDs), len(longIDs))
		}
		i++
	}
	if i != len(want)+1 {
		t.Fatalf("got %d output lines, want %d", i, len(want)+1)
	}
}

func TestTokenizeText(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"tokenize", "--model", tokenizerDir, "Hello world"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"[9707 1879]", `"Hello"`, `"Ġworld"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	stdout.Reset()
	code = Main(context.Background(), []string{"tokenize", "--model", tokenizerDir, "--decode", "9707,1879,151645"}, nil, &stdout, &stderr)
	if code != 0 || stdout.String() != "Hello world<|im_end|>\n" {
		t.Errorf("decode: exit %d, %q, %s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	in := strings.NewReader(`{"ids": [9707, 1879, 151645]}` + "\n")
	code = Main(context.Background(), []string{"tokenize", "--model", tokenizerDir, "--jsonl", "--decode", "--skip-special"}, in, &stdout, &stderr)
	if code != 0 || stdout.String() != `{"text": "Hello world"}`+"\n" {
		t.Errorf("jsonl decode: exit %d, %q, %s", code, stdout.String(), stderr.String())
	}
}

func TestTokenizeErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{[]string{"tokenize", "x"}, "", 2, "--model is required"},
		{[]string{"tokenize", "--model", t.TempDir(), "x"}, "", 1, "no tokenizer.json"},
		{[]string{"tokenize", "--model", tokenizerDir, "--jsonl"}, "{\"text\": \"a\"}\nnot json\n", 1, "input line 2"},
		{[]string{"tokenize", "--model", tokenizerDir, "--jsonl"}, "{\"txt\": \"a\"}\n", 1, `missing "text"`},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
