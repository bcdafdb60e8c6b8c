package vlmrt

import (
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/vulkan"
)

// The GPU backends are pure Go (purego, no cgo), so every build has them;
// a machine without the GPU API gets a clear error when one is asked for.
func init() {
	engine.Register(string(BackendVulkan), gpu.Opener(func() (gpu.Device, error) {
		// The kernels read int8 and float16 data from 32-bit words, so no
		// 8- or 16-bit storage feature is needed.
		d, err := vulkan.Open(vulkan.Options{AllowMissingFeatures: true})
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return d, nil
	}))
}
