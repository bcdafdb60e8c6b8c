//go:build (darwin || linux) && (amd64 || arm64)

package coreai

import (
	"fmt"
	"strings"

	"github.com/ebitengine/purego"
)

// loadBridge dlopens a bridge library and binds every ABI function. It
// never panics: purego.RegisterLibFunc panics on a missing symbol, so each
// symbol is looked up with Dlsym first and a library lacking any of them is
// refused with their names. RTLD_NOW resolves the bridge's own
// dependencies (Core AI, the Swift runtime) up front, so a broken install
// fails here and not at the first step; RTLD_LOCAL keeps its symbols out of
// the global namespace, so two bridges (the tests load several fakes) never
// bind to each other's functions.
func loadBridge(path string) (*bridge, error) {
	lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "No such file") || strings.Contains(msg, "no such file") || strings.Contains(msg, "image not found") {
			return nil, fmt.Errorf("%w: load bridge %s: %w: %s", ErrUnavailable, path, errNotFound, msg)
		}
		return nil, fmt.Errorf("%w: load bridge %s: %s", ErrUnavailable, path, msg)
	}
	b := &bridge{path: path, lib: lib}
	var missing []string
	for _, s := range b.symbols() {
		addr, err := purego.Dlsym(lib, s.name)
		if err != nil || addr == 0 {
			missing = append(missing, s.name)
			continue
		}
		purego.RegisterFunc(s.fptr, addr)
	}
	if len(missing) > 0 {
		_ = purego.Dlclose(lib)
		return nil, fmt.Errorf("%w: %s is not a vlmrt Core AI bridge of ABI version %d: it lacks %s",
			ErrUnavailable, path, ABIVersion, strings.Join(missing, ", "))
	}
	if v := b.version(); v != ABIVersion {
		_ = purego.Dlclose(lib)
		return nil, fmt.Errorf("%w: %s implements bridge ABI version %d, this vlmrt needs version %d (rebuild the bridge from internal/coreai/bridge)",
			ErrUnavailable, path, v, ABIVersion)
	}
	return b, nil
}
