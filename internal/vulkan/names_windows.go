package vulkan

// loaderNames are the Vulkan loader's names, tried in order.
var loaderNames = []string{"vulkan-1.dll"}
