//go:build noasm || !amd64

package kernels

import "testing"

// eachPath runs f on every path this build has (NEON and pure Go on arm64,
// pure Go under noasm or on other architectures).
func eachPath(t *testing.T, f func(t *testing.T)) {
	saved := Path()
	defer SetPath(saved)
	for _, p := range Paths() {
		if err := SetPath(p); err != nil {
			t.Fatal(err)
		}
		t.Run(p, f)
	}
}
