package hugepage

import (
	"os"
	"strings"
	"testing"
)

// Advise takes any slice: empty, small, unaligned, huge.
func TestAdviseAnySlice(t *testing.T) {
	Advise(nil)
	Advise(make([]byte, 1))
	big := make([]byte, 9<<20+123)
	Advise(big[7:])
	Advise(big)
	for i := range big {
		big[i] = byte(i)
	}
	if big[len(big)-1] != byte(len(big)-1) {
		t.Fatal("advised memory does not hold what was written")
	}
	// Whether the kernel granted huge pages depends on its THP setting and
	// free memory, so it is reported, not asserted.
	mode, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	rollup, _ := os.ReadFile("/proc/self/smaps_rollup")
	for _, l := range strings.Split(string(rollup), "\n") {
		if strings.HasPrefix(l, "AnonHugePages") {
			t.Logf("THP %s; %s", strings.TrimSpace(string(mode)), l)
		}
	}
}
