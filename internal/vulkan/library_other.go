//go:build !(((linux || darwin || freebsd || netbsd) && !android && (amd64 || arm64)) || (windows && (amd64 || arm64)))

package vulkan

import (
	"fmt"
	"runtime"
)

// openLibrary fails: this package calls Vulkan only on 64-bit Linux, BSD,
// macOS and Windows.
func openLibrary(name string) (func(string) uintptr, error) {
	return nil, fmt.Errorf("loading %s is not supported on %s/%s", name, runtime.GOOS, runtime.GOARCH)
}
