//go:build (linux || darwin || freebsd || netbsd) && !android && (amd64 || arm64)

package vulkan

import "github.com/ebitengine/purego"

// openLibrary dlopens the shared library name and returns a function that
// looks up one of its symbols (0 when absent).
func openLibrary(name string) (sym func(string) uintptr, err error) {
	h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, err
	}
	return func(s string) uintptr {
		p, err := purego.Dlsym(h, s)
		if err != nil {
			return 0
		}
		return p
	}, nil
}
