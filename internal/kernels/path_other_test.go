//go:build noasm || !amd64

package kernels

import "testing"

// eachPath runs f on the one path this build has (NEON on arm64, pure Go
// under noasm or on other architectures).
func eachPath(t *testing.T, f func(t *testing.T)) { f(t) }
