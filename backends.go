package vlmrt

import (
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/vulkan"
)

// The GPU backends are pure Go (purego, no cgo), so every build has them;
// a machine without the GPU API gets a clear error when one is asked for.
func init() {
	engine.Register(string(BackendVulkan), gpu.Opener(vulkan.OpenDevice))
}
