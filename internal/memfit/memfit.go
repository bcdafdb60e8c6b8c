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

// Available returns the bytes this process can still allocate: Linux's
// MemAvailable, lowered to the cgroup's memory.max headroom when a limit
// is set. ok is false where it cannot be read (other systems): callers
// then skip the check rather than guess.
func Available() (bytes int64, ok bool) {
	avail, ok := meminfoAvailable("/proc/meminfo")
	if !ok {
		return 0, false
	}
	if limit, used, ok := cgroupLimit("/sys/fs/cgroup"); ok && limit-used < avail {
		avail = max(limit-used, 0)
	}
	return avail, true
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

// Check refuses need bytes when less is available, naming both numbers.
func Check(what string, need int64) error {
	if os.Getenv(EnvSkip) != "" {
		return nil
	}
	avail, ok := Available()
	if !ok || need <= avail {
		return nil
	}
	return fmt.Errorf("%s needs about %.1f GB of memory but only %.1f GB is available (MemAvailable, cgroup limit); free memory, choose a smaller model or precision, or set %s=1 to try anyway",
		what, float64(need)/1e9, float64(avail)/1e9, EnvSkip)
}
