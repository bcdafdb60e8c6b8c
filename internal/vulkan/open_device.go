package vulkan

import "github.com/vlmrt/vlmrt/internal/gpu"

// OpenDevice opens the device the GPU engine runs on (Options from the
// environment: VLMRT_VULKAN_DEVICE, VLMRT_VULKAN_LIBRARY). The engine's
// kernels read int8 and float16 data from 32-bit words, so no 8- or
// 16-bit storage feature is required. It returns a gpu.Device (never a
// typed nil inside the interface).
func OpenDevice() (gpu.Device, error) {
	d, err := Open(Options{})
	if err != nil {
		return nil, err
	}
	return d, nil
}
