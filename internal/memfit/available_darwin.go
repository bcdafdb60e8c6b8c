package memfit

import "golang.org/x/sys/unix"

// systemAvailable on macOS is the physical memory (sysctl hw.memsize).
// macOS compresses and swaps memory in use and keeps free pages low on
// purpose, so no "available" counter predicts whether a load will fit;
// the refusal that is certainly right is a model larger than the machine.
func systemAvailable() (int64, bool) {
	total, err := unix.SysctlUint64("hw.memsize")
	if err != nil || total == 0 {
		return 0, false
	}
	return int64(total), true
}
