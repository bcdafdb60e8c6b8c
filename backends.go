package vlmrt

import (
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/metal"
	"github.com/vlmrt/vlmrt/internal/vulkan"
)

// The GPU backends are pure Go (purego, no cgo), so every build has them;
// a machine without the GPU API gets a clear error when one is asked for
// (Metal off darwin, Vulkan without a loader). Both run the same engine
// (internal/gpu) above their device.
func init() {
	engine.Register(string(BackendVulkan), gpu.Opener(vulkan.OpenDevice))
	engine.Register(string(BackendMetal), gpu.Opener(metal.OpenDevice))
}
