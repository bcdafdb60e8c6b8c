package vulkan

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// EnvLibrary names an environment variable that, when set, is the path or
// name of the Vulkan loader (or ICD exporting vkGetInstanceProcAddr, such as
// libMoltenVK.dylib) to open instead of the platform's usual names.
const EnvLibrary = "VLMRT_VULKAN_LIBRARY"

// loader is the opened Vulkan loader library: vkGetInstanceProcAddr, and the
// global commands fetched through it.
type loader struct {
	name                                 string
	getInstanceProcAddr                  uintptr
	createInstance                       uintptr
	enumerateInstanceVersion             uintptr // 0 on a Vulkan 1.0 loader
	enumerateInstanceExtensionProperties uintptr
}

var (
	loadOnce  sync.Once
	theLoader *loader
	loadErr   error
)

// getLoader opens the loader once per process; a failure is remembered and
// returned to every caller (an ErrUnavailable error).
func getLoader() (*loader, error) {
	loadOnce.Do(func() {
		names := loaderNames
		if v := os.Getenv(EnvLibrary); v != "" {
			names = []string{v}
		}
		theLoader, loadErr = loadLibrary(names)
	})
	return theLoader, loadErr
}

// loadLibrary opens the first of names that is a Vulkan loader.
func loadLibrary(names []string) (*loader, error) {
	var why []string
	for _, n := range names {
		sym, err := openLibrary(n)
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		gipa := sym("vkGetInstanceProcAddr")
		if gipa == 0 {
			why = append(why, n+" has no vkGetInstanceProcAddr")
			continue
		}
		l := &loader{name: n, getInstanceProcAddr: gipa}
		l.createInstance = l.proc(0, "vkCreateInstance")
		l.enumerateInstanceVersion = l.proc(0, "vkEnumerateInstanceVersion")
		l.enumerateInstanceExtensionProperties = l.proc(0, "vkEnumerateInstanceExtensionProperties")
		if l.createInstance == 0 || l.enumerateInstanceExtensionProperties == 0 {
			why = append(why, n+" does not return vkCreateInstance or vkEnumerateInstanceExtensionProperties")
			continue
		}
		return l, nil
	}
	return nil, fmt.Errorf("%w: no Vulkan loader (tried %s: %s); install one, e.g. the packages mesa-vulkan-drivers libvulkan1, or set %s",
		gpu.ErrUnavailable, strings.Join(names, ", "), strings.Join(why, "; "), EnvLibrary)
}

// proc is vkGetInstanceProcAddr(instance, name); 0 when absent.
func (l *loader) proc(instance uintptr, name string) uintptr {
	c := cstr(name)
	return call(l.getInstanceProcAddr, instance, uintptr(unsafe.Pointer(&c[0])))
}

// cstr is s as a NUL-terminated C string in Go memory.
func cstr(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// gostr is the NUL-terminated string at the start of b.
func gostr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// cstrs is names as an array of C string pointers (nil when empty); the
// array and the strings live in Go memory reachable from it.
func cstrs(names []string) unsafe.Pointer {
	if len(names) == 0 {
		return nil
	}
	p := make([]unsafe.Pointer, len(names))
	for i, n := range names {
		p[i] = unsafe.Pointer(&cstr(n)[0])
	}
	return unsafe.Pointer(&p[0])
}

// procs fetches each named function with get into its field; a missing one
// is an ErrUnavailable error naming it.
func procs(get func(string) uintptr, table map[string]*uintptr) error {
	var missing []string
	for name, p := range table {
		if *p = get(name); *p == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: the Vulkan driver does not provide %s", gpu.ErrUnavailable, strings.Join(missing, ", "))
	}
	return nil
}

// unavailable wraps gpu.ErrUnavailable with what is missing.
func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: vulkan: %s", gpu.ErrUnavailable, fmt.Sprintf(format, args...))
}

// errReleased is wrapped by the errors of calls on released values.
var errReleased = errors.New("used after Release")
