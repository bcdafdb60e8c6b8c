//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hub

import "context"

// lockBlob is a no-op where flock is unavailable (Windows: huggingface_hub
// uses msvcrt locking there, which Go's standard library does not offer).
// A concurrent download of the same blob is still caught by verification.
func lockBlob(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, ctx.Err()
}
