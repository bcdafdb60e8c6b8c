package coreai

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// EnvBridge names the environment variable that, when set, is the one path
// the bridge library is loaded from.
const EnvBridge = "VLMRT_COREAI_BRIDGE"

// LibraryName is the bridge library's file name on this OS.
func LibraryName() string { return libraryName(runtime.GOOS) }

func libraryName(goos string) string {
	if goos == "darwin" || goos == "ios" {
		return "libvlmrt_coreai.dylib"
	}
	return "libvlmrt_coreai.so"
}

var (
	defaultOnce   sync.Once
	defaultBridge *bridge
	defaultErr    error
)

// loadDefault loads the bridge once per process (a library cannot be
// unloaded safely once its functions are bound) from the first of
// candidates that loads; the error lists every place it looked.
func loadDefault() (*bridge, error) {
	defaultOnce.Do(func() {
		exe, _ := os.Executable()
		paths, fromEnv := candidates(os.Getenv(EnvBridge), exe, runtime.GOOS)
		defaultBridge, defaultErr = loadFirst(paths, fromEnv)
	})
	return defaultBridge, defaultErr
}

// candidates lists where to look for the bridge: only $VLMRT_COREAI_BRIDGE
// when it is set; otherwise beside the executable, in an app bundle's
// Frameworks directory, in ../lib, in the usual system prefixes, and
// finally the bare name, which leaves the search to the dynamic loader
// (DYLD_LIBRARY_PATH / LD_LIBRARY_PATH, rpath).
func candidates(env, exe, goos string) (paths []string, fromEnv bool) {
	if env != "" {
		return []string{env}, true
	}
	name := libraryName(goos)
	if exe != "" {
		dir := filepath.Dir(exe)
		paths = append(paths, filepath.Join(dir, name))
		if goos == "darwin" || goos == "ios" {
			paths = append(paths, filepath.Join(dir, "..", "Frameworks", name))
		}
		paths = append(paths, filepath.Join(dir, "..", "lib", name))
	}
	paths = append(paths, filepath.Join("/usr/local/lib", name))
	if goos == "darwin" {
		paths = append(paths, filepath.Join("/opt/homebrew/lib", name))
	}
	return append(paths, name), false
}

// loadFirst loads the first candidate that exists (the bare name is tried
// as is). A candidate that exists but fails to load is an error at once:
// a broken bridge must not be masked by another one further down the list.
func loadFirst(paths []string, fromEnv bool) (*bridge, error) {
	var tried []string
	for i, p := range paths {
		bare := !fromEnv && i == len(paths)-1 && !strings.ContainsRune(p, filepath.Separator)
		if !fromEnv && !bare {
			if _, err := os.Stat(p); err != nil {
				tried = append(tried, p)
				continue
			}
		}
		b, err := loadBridge(p)
		if err == nil {
			return b, nil
		}
		if fromEnv {
			return nil, fmt.Errorf("%w (from $%s)", err, EnvBridge)
		}
		if bare && isNotFound(err) {
			tried = append(tried, p+" (dynamic loader search path)")
			break
		}
		return nil, err
	}
	return nil, fmt.Errorf("%w: no bridge library %s found (looked in %s); build it from internal/coreai/bridge or set $%s to its path",
		ErrUnavailable, LibraryName(), strings.Join(tried, ", "), EnvBridge)
}

// errNotFound marks a dlopen failure that means "no such file" so the
// bare-name search can report "not found" rather than a load error.
var errNotFound = errors.New("library not found")

func isNotFound(err error) bool { return errors.Is(err, errNotFound) }
