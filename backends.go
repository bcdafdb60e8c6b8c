package vlmrt

import (
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/gpu/devices"
)

// The GPU backends are pure Go (purego, no cgo), so every build has them;
// a machine without the GPU API gets a clear error when one is asked for
// (Metal off darwin, Vulkan without a loader). Both run the same engine
// (internal/gpu) above their device; the table lives in internal/gpu/devices.
func init() {
	for _, d := range devices.All {
		engine.Register(d.Name, gpu.Opener(d.Open))
	}
}
