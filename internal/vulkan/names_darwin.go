package vulkan

// loaderNames are the Vulkan loader's names, tried in order: the LunarG or
// Homebrew loader (which finds MoltenVK through its ICD file), then
// MoltenVK itself, which exports vkGetInstanceProcAddr too.
var loaderNames = []string{
	"libvulkan.1.dylib",
	"libvulkan.dylib",
	"/usr/local/lib/libvulkan.1.dylib",
	"/opt/homebrew/lib/libvulkan.1.dylib",
	"libMoltenVK.dylib",
	"/usr/local/lib/libMoltenVK.dylib",
	"/opt/homebrew/lib/libMoltenVK.dylib",
}
