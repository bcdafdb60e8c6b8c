//go:build !((linux || darwin || freebsd || netbsd || windows) && (amd64 || arm64))

package vulkan

// call is never reached here: the loader is never opened (see openLibrary).

func call(fn uintptr, args ...uintptr) uintptr { return ^uintptr(2) } // VK_ERROR_INITIALIZATION_FAILED
