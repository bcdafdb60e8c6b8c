//go:build windows && (amd64 || arm64)

package vulkan

import "syscall"

// openLibrary loads the DLL name and returns a function that looks up one of
// its exports (0 when absent).
func openLibrary(name string) (sym func(string) uintptr, err error) {
	h, err := syscall.LoadLibrary(name)
	if err != nil {
		return nil, err
	}
	return func(s string) uintptr {
		p, err := syscall.GetProcAddress(h, s)
		if err != nil {
			return 0
		}
		return p
	}, nil
}
