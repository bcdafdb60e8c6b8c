# layout.py writes a C program that prints, for every struct structs.go
# mirrors, its C size and the offset of each field as rows of the table in
# structs_test.go (the Go side of each row is the matching unsafe.Sizeof /
# unsafe.Offsetof). The build never needs it; to regenerate the table (needs
# libvulkan-dev, python3 and a C compiler):
#
#	python3 testdata/layout.py > /tmp/layout.c && cc -o /tmp/layout /tmp/layout.c && /tmp/layout
import re
import sys

STRUCTS = """VkApplicationInfo VkInstanceCreateInfo VkExtensionProperties VkPhysicalDeviceLimits
VkPhysicalDeviceSparseProperties VkPhysicalDeviceProperties VkPhysicalDeviceProperties2
VkPhysicalDeviceSubgroupProperties VkConformanceVersion VkPhysicalDeviceDriverProperties
VkPhysicalDeviceFeatures VkPhysicalDeviceFeatures2 VkPhysicalDevice16BitStorageFeatures
VkPhysicalDevice8BitStorageFeatures VkPhysicalDeviceShaderFloat16Int8Features VkMemoryType
VkMemoryHeap VkPhysicalDeviceMemoryProperties VkExtent3D VkQueueFamilyProperties
VkDeviceQueueCreateInfo VkDeviceCreateInfo VkBufferCreateInfo VkMemoryRequirements
VkMemoryAllocateInfo VkShaderModuleCreateInfo VkDescriptorSetLayoutBinding
VkDescriptorSetLayoutCreateInfo VkPushConstantRange VkPipelineLayoutCreateInfo
VkSpecializationMapEntry VkSpecializationInfo VkPipelineShaderStageCreateInfo
VkComputePipelineCreateInfo VkDescriptorPoolSize VkDescriptorPoolCreateInfo
VkDescriptorSetAllocateInfo VkDescriptorBufferInfo VkWriteDescriptorSet VkCommandPoolCreateInfo
VkCommandBufferAllocateInfo VkCommandBufferBeginInfo VkMemoryBarrier VkBufferCopy
VkFenceCreateInfo VkSubmitInfo""".split()

header = sys.argv[1] if len(sys.argv) > 1 else "/usr/include/vulkan/vulkan_core.h"
src = open(header).read()


def goname(c):
    return c[2].lower() + c[3:]


print("#include <stdio.h>\n#include <stddef.h>\n#include <vulkan/vulkan_core.h>\n\nint main(void) {")
for s in STRUCTS:
    body = re.search(r"typedef struct " + s + r" \{(.*?)\} " + s + ";", src, re.S).group(1)
    g = goname(s)
    print('\tprintf("\\t{\\"%s\\", %%zu, unsafe.Sizeof(%s{})},\\n", sizeof(%s));' % (s, g, s))
    for line in body.strip().split("\n"):
        f = re.search(r"(\w+)(\[\w+\])*;", line).group(1)
        gf = f[0].upper() + f[1:]
        print('\tprintf("\\t{\\"%s.%s\\", %%zu, unsafe.Offsetof(%s{}.%s)},\\n", offsetof(%s, %s));' % (s, f, g, gf, s, f))
print("\treturn 0;\n}")
