//go:build !((linux || darwin || freebsd || netbsd || windows) && (amd64 || arm64))

package vulkan

// callSupported reports whether this platform can call into the loader: the
// loader is never opened here (see openLibrary), so call is never reached.
const callSupported = false

func call(fn uintptr, args ...uintptr) uintptr { return ^uintptr(2) } // VK_ERROR_INITIALIZATION_FAILED
