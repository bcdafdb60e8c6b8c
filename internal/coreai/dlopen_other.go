//go:build !((darwin || linux) && (amd64 || arm64))

package coreai

import (
	"fmt"
	"runtime"
)

// loadBridge: purego's dlopen path (and Core AI itself) is not available
// on this platform.
func loadBridge(path string) (*bridge, error) {
	return nil, fmt.Errorf("%w: the Core AI bridge loads on darwin (and linux for tests) on amd64/arm64, not %s/%s (%s)",
		ErrUnavailable, runtime.GOOS, runtime.GOARCH, path)
}
