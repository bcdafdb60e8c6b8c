//go:build !darwin

package metal

import (
	"fmt"
	"runtime"
)

// bindSystem: off darwin there is no Metal, so every entry point reports
// ErrUnavailable (callers compile everywhere and fall back at run time).
func bindSystem() error {
	return fmt.Errorf("%w: Metal exists only on darwin, this is %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}
