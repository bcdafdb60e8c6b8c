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
	if err := Check("a tiny model", 1<<20); err != nil {
		t.Fatalf("1 MiB: %v", err)
	}
	err := Check("a huge model", avail*4+1<<40)
	if err == nil || !strings.Contains(err.Error(), "GB is available") || !strings.Contains(err.Error(), EnvSkip) {
		t.Fatalf("huge: %v", err)
	}
	t.Setenv(EnvSkip, "1")
	if err := Check("a huge model", avail*4+1<<40); err != nil {
		t.Fatalf("skipped: %v", err)
	}
}
