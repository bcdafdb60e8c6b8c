//go:build !darwin && !windows

package vulkan

// loaderNames are the Vulkan loader's names, tried in order.
var loaderNames = []string{"libvulkan.so.1", "libvulkan.so"}
