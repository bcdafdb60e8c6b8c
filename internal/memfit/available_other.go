//go:build !darwin

package memfit

// systemAvailable is the fallback where /proc/meminfo is missing and no
// system-specific reader exists: unknown, so the check is skipped.
func systemAvailable() (int64, bool) { return 0, false }
