// Package memfit tells, before a model loads, whether it fits in the
// memory this process may use: a model too large for the machine is
// refused with both numbers instead of being killed by the OS mid-load.
package memfit

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Available returns the bytes this process can still allocate: on Linux
// MemAvailable, lowered to the cgroup's memory.max headroom when a limit
// is set; on macOS the physical memory (see available_darwin.go). ok is
// false where it cannot be read (other systems): callers then skip the
// check rather than guess.
func Available() (bytes int64, ok bool) {
	if avail, ok := meminfoAvailable("/proc/meminfo"); ok {
		if limit, used, ok := cgroupLimit("/sys/fs/cgroup"); ok && limit-used < avail {
			avail = max(limit-used, 0)
		}
		return avail, true
	}
	return systemAvailable()
}

func meminfoAvailable(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb < 0 {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}

// cgroupLimit reads cgroup v2's memory.max and memory.current.
func cgroupLimit(dir string) (limit, used int64, ok bool) {
	lb, err := os.ReadFile(dir + "/memory.max")
	if err != nil {
		return 0, 0, false
	}
	s := strings.TrimSpace(string(lb))
	if s == "max" {
		return 0, 0, false
	}
	if limit, err = strconv.ParseInt(s, 10, 64); err != nil {
		return 0, 0, false
	}
	if ub, err := os.ReadFile(dir + "/memory.current"); err == nil {
		used, _ = strconv.ParseInt(strings.TrimSpace(string(ub)), 10, 64)
	}
	return limit, used, true
}

// EnvSkip turns the check off (VLMRT_SKIP_MEMORY_CHECK=1), for a machine
// whose swap or overcommit the estimate does not see.
const EnvSkip = "VLMRT_SKIP_MEMORY_CHECK"

// Need is what a model will take once loaded and in use.
type Need struct {
	// Weights: the bound weights beyond what stays mapped from the files.
	Weights int64
	// KVCache: one conversation's keys and values at ContextLength tokens
	// (each further concurrent conversation takes as much again).
	KVCache       int64
	ContextLength int
	// Scratch: the per-step buffers (a prefill chunk, one image's encode).
	Scratch int64
}

// Total is the sum of the parts.
func (n Need) Total() int64 { return n.Weights + n.KVCache + n.Scratch }

// String names the parts, for an error that says where the memory goes.
func (n Need) String() string {
	return fmt.Sprintf("weights %s, KV cache for %d tokens %s, scratch %s", GB(n.Weights), n.ContextLength, GB(n.KVCache), GB(n.Scratch))
}

// GB formats bytes as decimal gigabytes (megabytes below 0.1 GB).
func GB(b int64) string {
	if b < 100e6 {
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(b)/1e9)
}

// available is Available, replaced by tests.
var available = Available

// Skipped reports whether the user turned the checks off (EnvSkip).
func Skipped() bool { return os.Getenv(EnvSkip) != "" }

// Check refuses what needs when less memory is available, naming both
// numbers and where the need comes from.
func Check(what string, need Need) error {
	if Skipped() {
		return nil
	}
	avail, ok := available()
	if !ok || need.Total() <= avail {
		return nil
	}
	return fmt.Errorf("%s needs about %s of memory (%s) but only %s is available; free memory, choose a smaller model or precision, shorten the context (--ctx, WithContextLength) or halve the KV cache (--kv-f16), or set %s=1 to try anyway",
		what, GB(need.Total()), need, GB(avail), EnvSkip)
}
