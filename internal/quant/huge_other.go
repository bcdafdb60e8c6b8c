//go:build !linux

package quant

import "unsafe"

// adviseHuge is Linux's transparent-huge-page advice; elsewhere the OS
// decides (macOS has no such knob for anonymous memory).
func adviseHuge(p unsafe.Pointer, n int) {}
