//go:build !linux

package hugepage

// Advise is Linux's transparent-huge-page advice; elsewhere the OS decides
// (macOS has no such knob for anonymous memory).
func Advise(b []byte) {}
