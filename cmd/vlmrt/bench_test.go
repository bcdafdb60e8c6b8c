package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// benchKeys are issue 6's required keys of `vlmrt bench --json`.
var benchKeys = []string{"read_bandwidth_gbs", "decode_tok_s", "bytes_per_token", "decode_bandwidth_ratio",
	"prefill_tok_s", "prefill_s1_tok_s", "vision_ms", "threads"}

func checkBenchJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	for _, k := range benchKeys {
		v, ok := m[k].(float64)
		if !ok || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive number", k, m[k])
		}
	}
	return m
}

// TestBenchShapeJSON: `vlmrt bench --shape tiny --json` (the test-sized
// synthetic shape) prints one JSON object with every required key.
func TestBenchShapeJSON(t *testing.T) {
	stdout, stderr, code := runCLI(t, "", "bench", "--shape", "tiny", "--json", "--probe-mib", "16", "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := checkBenchJSON(t, stdout)
	if m["threads"] != 1.0 || m["model"] != "tiny" {
		t.Errorf("threads %v, model %v; want 1 and tiny", m["threads"], m["model"])
	}
	if !strings.Contains(stderr, "decode") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
}

// TestBenchModel: --model benchmarks a real checkpoint directory, and
// without --json prints the table.
func TestBenchModel(t *testing.T) {
	stdout, stderr, code := runCLI(t, "", "bench", "--model", tinyA, "--json", "--probe-mib", "16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkBenchJSON(t, stdout)
	stdout, stderr, code = runCLI(t, "", "bench", "--model", tinyA, "--probe-mib", "16", "--skip", "vision,prefill-s1", "--batch", "2", "--batch-tokens", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"decode bandwidth ratio", "prefill (batched)", "bytes per token", "FMA peak", "of peak", "batched decode", "ratio to B=1"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("table lacks %q:\n%s", s, stdout)
		}
	}
	if strings.Contains(stdout, "vision encode") {
		t.Errorf("skipped vision shown:\n%s", stdout)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--shape", "13b"},
		{"--decode-tokens", "4"},
		{"--skip", "audio"},
		{"--probe-mib", "0"},
		{"--batch", "two"},
		{"--acts", "int4"},
		{"--compare-acts", "f32,auto"},
		{"--decode-runs", "-1"},
		{"--runs", "0"},
		{"extra"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"bench"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "vlmrt bench:") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error (exit 2)", args, code, stderr)
		}
	}
	_, stderr, code := runCLI(t, "", "bench", "--model", "/nonexistent/dir", "--skip", "bandwidth")
	if code != 1 || !strings.Contains(stderr, "/nonexistent/dir") {
		t.Errorf("missing model: exit %d, stderr %q", code, stderr)
	}
}

// TestBenchServeClients: `vlmrt bench --serve-clients` on the test-sized
// shape serves it in process and reports one row per client count.
func TestBenchServeClients(t *testing.T) {
	stdout, stderr, code := runCLI(t, "", "bench", "--shape", "tiny", "--serve-clients", "1,2", "--serve-tokens", "4", "--tokenizer", "../../testdata/tokenizer", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("want two rows of JSON: %v\n%s", err, stdout)
	}
	for _, r := range rows {
		if v, _ := r["aggregate_tok_s"].(float64); !(v > 0) || r["tokens"] != 4*r["clients"].(float64) {
			t.Errorf("row %v: want a positive aggregate and every client's 4 tokens", r)
		}
	}
}
