// Package devices is the one table of the GPU engine's devices by backend
// name. The root package registers a backend for each entry, and
// `vlmrt bench --backend NAME` opens the same device, so adding a device
// API (a third binding beside Vulkan and Metal) is one line here.
package devices

import (
	"fmt"
	"strings"

	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/metal"
	"github.com/vlmrt/vlmrt/internal/vulkan"
)

// Device is one GPU API the engine runs on.
type Device struct {
	Name string                     // backend name ("vulkan", "metal")
	Open func() (gpu.Device, error) // opens the default device of that API
}

// All lists the GPU devices in the order they are documented.
var All = []Device{
	{"vulkan", vulkan.OpenDevice},
	{"metal", metal.OpenDevice},
}

// Lookup returns the device named name.
func Lookup(name string) (Device, error) {
	for _, d := range All {
		if d.Name == name {
			return d, nil
		}
	}
	return Device{}, fmt.Errorf("no GPU device API %q (have %s)", name, strings.Join(Names(), ", "))
}

// Names lists the device names.
func Names() []string {
	n := make([]string, len(All))
	for i, d := range All {
		n[i] = d.Name
	}
	return n
}
