// Package vulkan implements gpu.Device with Vulkan compute, without cgo: the
// Vulkan loader is opened with github.com/ebitengine/purego (libvulkan.so.1
// on Linux and the BSDs, vulkan-1.dll on Windows, libvulkan.1.dylib or
// libMoltenVK.dylib on macOS, or the library named by VLMRT_VULKAN_LIBRARY)
// and every other command is fetched with vkGetInstanceProcAddr and
// vkGetDeviceProcAddr. The C structs are mirrored in structs.go with their
// exact 64-bit C layout (checked by structs_test.go); only 64-bit targets
// (amd64, arm64) can call the driver, elsewhere Open reports
// gpu.ErrUnavailable.
//
// Open picks a physical device (discrete, then integrated, virtual, cpu; or
// the one Options.Device or VLMRT_VULKAN_DEVICE names by index or name),
// one queue family with compute, and creates a logical device with the
// optional features enabled when present (16-bit and 8-bit storage, int8,
// fp16 and int16 arithmetic); the kernels read int8 and float16 data from
// 32-bit words, so none of them is required. List describes every
// device for a listing. The loader is opened once per process; a missing
// loader, device, queue or feature is an error wrapping gpu.ErrUnavailable
// that names what is missing. Nothing in the package panics.
//
// # Memory
//
// Buffers are storage buffers in device-local memory. When that memory is
// also host-visible and coherent (integrated GPUs, lavapipe: DeviceInfo.
// UnifiedMemory) it is mapped for the buffer's life and Write and Read are
// memcpys; otherwise they go through a host-visible staging buffer owned by
// the device, a copy on the queue and a fence wait. New buffers are zeroed.
//
// # Ownership
//
// The Device owns its VkInstance and VkDevice. Each Buffer owns its VkBuffer
// and VkDeviceMemory; each Pipeline its VkPipeline, VkPipelineLayout and
// VkDescriptorSetLayout (the shader module lives only while the pipeline is
// built); each Commands its VkCommandPool (and the command buffer in it),
// its VkDescriptorPools (one more whenever the current one is full) and its
// VkFence. Release frees what a value owns; it is idempotent and safe on a
// nil value. Release every Buffer, Pipeline and Commands before
// Device.Close: Close refuses (returns an error, frees nothing) while any is
// alive. A Commands keeps its recorded buffers and pipelines in use: they
// must not be released while it runs, and Run refuses to submit a list whose
// buffers or pipelines were released after being recorded.
//
// Go memory is never left with the driver: create infos, descriptor writes,
// push constants and submit infos are consumed within the call they are
// passed to, and are kept alive and on the heap for that call (see call).
//
// # Threading
//
// A Device is safe for concurrent use. It has a single queue; submissions
// (Commands.Run and the staging copies) are serialized by a mutex, and the
// waits for their fences run outside it, so several goroutines can run
// separate Commands at once. A Commands (its command pool and descriptor
// pools are not thread-safe) is used by one goroutine at a time, and so is
// a Buffer's Write and Read with respect to Commands that use it.
//
// Run submits and waits on the list's fence in slices of 50 ms, looking at
// ctx in between; a device cannot stop mid-list, so when ctx ends Run still
// waits for the device to finish and then returns ctx.Err().
//
// # Where it has run
//
// Only on lavapipe (Mesa 22.3 llvmpipe, Vulkan 1.3, linux/amd64), with
// CGO_ENABLED=0 and with cgo under the race detector, and with the tests
// clean under VK_LAYER_KHRONOS_validation (1.3.239) with synchronization
// validation (VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation
// VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT). It compiles for
// darwin/arm64 and windows/amd64 but has not been run there, nor on any
// hardware GPU.
package vulkan

//go:generate sh testdata/build.sh
