package memfit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReaders(t *testing.T) {
	dir := t.TempDir()
	mi := filepath.Join(dir, "meminfo")
	os.WriteFile(mi, []byte("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2000000 kB\n"), 0o644)
	if v, ok := meminfoAvailable(mi); !ok || v != 2000000*1024 {
		t.Fatalf("meminfo: %d %v", v, ok)
	}
	os.WriteFile(filepath.Join(dir, "memory.max"), []byte("1073741824\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memory.current"), []byte("73741824\n"), 0o644)
	if l, u, ok := cgroupLimit(dir); !ok || l != 1<<30 || u != 73741824 {
		t.Fatalf("cgroup: %d %d %v", l, u, ok)
	}
	os.WriteFile(filepath.Join(dir, "memory.max"), []byte("max\n"), 0o644)
	if _, _, ok := cgroupLimit(dir); ok {
		t.Fatal("memory.max = max is no limit")
	}
}

func TestCheck(t *testing.T) {
	avail, ok := Available()
	if !ok {
		t.Skip("no /proc/meminfo on this system: the check is skipped there too")
	}
	if err := Check("a tiny model", Need{Weights: 1 << 20}); err != nil {
		t.Fatalf("1 MiB: %v", err)
	}
	err := Check("a huge model", Need{Weights: avail*4 + 1<<40})
	if err == nil || !strings.Contains(err.Error(), "GB is available") || !strings.Contains(err.Error(), EnvSkip) {
		t.Fatalf("huge: %v", err)
	}
	t.Setenv(EnvSkip, "1")
	if err := Check("a huge model", Need{Weights: avail*4 + 1<<40}); err != nil {
		t.Fatalf("skipped: %v", err)
	}
}

// TestCheckCountsEveryPart: weights that fit alone are refused once the
// KV cache at the context length is added, and the error names the total,
// the parts and what is available.
func TestCheckCountsEveryPart(t *testing.T) {
	defer func(f func() (int64, bool)) { available = f }(available)
	available = func() (int64, bool) { return 6e9, true }
	need := Need{Weights: 4.5e9, KVCache: 9.66e9, ContextLength: 32768, Scratch: 0.2e9}
	if err := Check("a model", Need{Weights: need.Weights}); err != nil {
		t.Fatalf("weights alone: %v", err)
	}
	err := Check("a model", need)
	if err == nil {
		t.Fatal("weights + KV cache beyond the available memory were accepted")
	}
	for _, s := range []string{"14.4 GB", "6.0 GB is available", "weights 4.5 GB", "KV cache for 32768 tokens 9.7 GB", "scratch 0.2 GB", "--ctx"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
}
