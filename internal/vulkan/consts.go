package vulkan

import "fmt"

// The few Vulkan enum values this package uses, from vulkan_core.h.
const (
	stApplicationInfo               = 0
	stInstanceCreateInfo            = 1
	stDeviceQueueCreateInfo         = 2
	stDeviceCreateInfo              = 3
	stSubmitInfo                    = 4
	stMemoryAllocateInfo            = 5
	stFenceCreateInfo               = 8
	stBufferCreateInfo              = 12
	stShaderModuleCreateInfo        = 16
	stPipelineShaderStageCreateInfo = 18
	stComputePipelineCreateInfo     = 29
	stPipelineLayoutCreateInfo      = 30
	stDescriptorSetLayoutCreateInfo = 32
	stDescriptorPoolCreateInfo      = 33
	stDescriptorSetAllocateInfo     = 34
	stWriteDescriptorSet            = 35
	stCommandPoolCreateInfo         = 39
	stCommandBufferAllocateInfo     = 40
	stCommandBufferBeginInfo        = 42
	stMemoryBarrier                 = 46
	stPhysicalDeviceFeatures2       = 1000059000
	stPhysicalDeviceProperties2     = 1000059001
	stShaderFloat16Int8Features     = 1000082000
	st16BitStorageFeatures          = 1000083000
	stSubgroupProperties            = 1000094000
	st8BitStorageFeatures           = 1000177000
	stDriverProperties              = 1000196000

	physicalDeviceTypeIntegrated = 1
	physicalDeviceTypeDiscrete   = 2
	physicalDeviceTypeVirtual    = 3
	physicalDeviceTypeCPU        = 4

	queueCompute = 0x2

	memoryDeviceLocal  = 0x1
	memoryHostVisible  = 0x2
	memoryHostCoherent = 0x4
	heapDeviceLocal    = 0x1

	bufferUsageTransferSrc = 0x1
	bufferUsageTransferDst = 0x2
	bufferUsageStorage     = 0x20

	descriptorTypeStorageBuffer = 7
	shaderStageCompute          = 0x20
	pipelineBindPointCompute    = 1

	commandPoolResetCommandBuffer = 0x2
	commandBufferLevelPrimary     = 0
	commandBufferOneTimeSubmit    = 0x1

	stageTransfer      = 0x1000
	stageComputeShader = 0x800
	stageHost          = 0x4000

	accessShaderRead    = 0x20
	accessShaderWrite   = 0x40
	accessTransferRead  = 0x800
	accessTransferWrite = 0x1000
	accessHostRead      = 0x2000

	instanceCreateEnumeratePortability = 0x1

	wholeSize    = ^uint64(0)
	wholeSizeArg = ^uintptr(0) // VK_WHOLE_SIZE as a call argument (64-bit targets)
	vkTrue       = 1
)

// result is a VkResult.
type result int32

const (
	success    result = 0
	timeout    result = 2
	incomplete result = 5
)

var resultNames = map[result]string{
	0: "VK_SUCCESS", 1: "VK_NOT_READY", 2: "VK_TIMEOUT", 5: "VK_INCOMPLETE",
	-1: "VK_ERROR_OUT_OF_HOST_MEMORY", -2: "VK_ERROR_OUT_OF_DEVICE_MEMORY",
	-3: "VK_ERROR_INITIALIZATION_FAILED", -4: "VK_ERROR_DEVICE_LOST",
	-5: "VK_ERROR_MEMORY_MAP_FAILED", -6: "VK_ERROR_LAYER_NOT_PRESENT",
	-7: "VK_ERROR_EXTENSION_NOT_PRESENT", -8: "VK_ERROR_FEATURE_NOT_PRESENT",
	-9: "VK_ERROR_INCOMPATIBLE_DRIVER", -10: "VK_ERROR_TOO_MANY_OBJECTS",
	-11: "VK_ERROR_FORMAT_NOT_SUPPORTED", -12: "VK_ERROR_FRAGMENTED_POOL",
	-13: "VK_ERROR_UNKNOWN", -1000069000: "VK_ERROR_OUT_OF_POOL_MEMORY",
	-1000012000: "VK_ERROR_INVALID_SHADER_NV",
}

func (r result) String() string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return fmt.Sprintf("VkResult(%d)", int32(r))
}

// check turns a failed VkResult of the call named what into an error.
func (r result) check(what string) error {
	if r == success {
		return nil
	}
	return fmt.Errorf("vulkan: %s: %v", what, r)
}

// makeVersion is VK_MAKE_API_VERSION(0, major, minor, patch).
func makeVersion(major, minor, patch uint32) uint32 { return major<<22 | minor<<12 | patch }

func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>22&0x7f, v>>12&0x3ff, v&0xfff)
}
