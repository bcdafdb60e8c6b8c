package vulkan

import "unsafe"

// deviceFns are the device-level commands, fetched with vkGetDeviceProcAddr
// so that calls go straight to the driver rather than through the loader's
// dispatch.
type deviceFns struct {
	destroyDevice, getDeviceQueue, deviceWaitIdle                                        uintptr
	createBuffer, destroyBuffer, getBufferMemoryRequirements                             uintptr
	allocateMemory, freeMemory, bindBufferMemory, mapMemory                              uintptr
	createShaderModule, destroyShaderModule                                              uintptr
	createDescriptorSetLayout, destroyDescriptorSetLayout                                uintptr
	createPipelineLayout, destroyPipelineLayout, createComputePipelines, destroyPipeline uintptr
	createDescriptorPool, destroyDescriptorPool, resetDescriptorPool                     uintptr
	allocateDescriptorSets, updateDescriptorSets                                         uintptr
	createCommandPool, destroyCommandPool, allocateCommandBuffers                        uintptr
	beginCommandBuffer, endCommandBuffer, resetCommandBuffer                             uintptr
	cmdBindPipeline, cmdBindDescriptorSets, cmdPushConstants, cmdDispatch                uintptr
	cmdPipelineBarrier, cmdCopyBuffer, cmdFillBuffer                                     uintptr
	createFence, destroyFence, resetFences, waitForFences, queueSubmit                   uintptr
}

func (f *deviceFns) load(in *instance, dev uintptr) error {
	get := func(name string) uintptr {
		c := cstr(name)
		return call(in.getDeviceProcAddr, dev, uintptr(unsafe.Pointer(&c[0])))
	}
	return procs(get, map[string]*uintptr{
		"vkDestroyDevice":               &f.destroyDevice,
		"vkGetDeviceQueue":              &f.getDeviceQueue,
		"vkDeviceWaitIdle":              &f.deviceWaitIdle,
		"vkCreateBuffer":                &f.createBuffer,
		"vkDestroyBuffer":               &f.destroyBuffer,
		"vkGetBufferMemoryRequirements": &f.getBufferMemoryRequirements,
		"vkAllocateMemory":              &f.allocateMemory,
		"vkFreeMemory":                  &f.freeMemory,
		"vkBindBufferMemory":            &f.bindBufferMemory,
		"vkMapMemory":                   &f.mapMemory,
		"vkCreateShaderModule":          &f.createShaderModule,
		"vkDestroyShaderModule":         &f.destroyShaderModule,
		"vkCreateDescriptorSetLayout":   &f.createDescriptorSetLayout,
		"vkDestroyDescriptorSetLayout":  &f.destroyDescriptorSetLayout,
		"vkCreatePipelineLayout":        &f.createPipelineLayout,
		"vkDestroyPipelineLayout":       &f.destroyPipelineLayout,
		"vkCreateComputePipelines":      &f.createComputePipelines,
		"vkDestroyPipeline":             &f.destroyPipeline,
		"vkCreateDescriptorPool":        &f.createDescriptorPool,
		"vkDestroyDescriptorPool":       &f.destroyDescriptorPool,
		"vkResetDescriptorPool":         &f.resetDescriptorPool,
		"vkAllocateDescriptorSets":      &f.allocateDescriptorSets,
		"vkUpdateDescriptorSets":        &f.updateDescriptorSets,
		"vkCreateCommandPool":           &f.createCommandPool,
		"vkDestroyCommandPool":          &f.destroyCommandPool,
		"vkAllocateCommandBuffers":      &f.allocateCommandBuffers,
		"vkBeginCommandBuffer":          &f.beginCommandBuffer,
		"vkEndCommandBuffer":            &f.endCommandBuffer,
		"vkResetCommandBuffer":          &f.resetCommandBuffer,
		"vkCmdBindPipeline":             &f.cmdBindPipeline,
		"vkCmdBindDescriptorSets":       &f.cmdBindDescriptorSets,
		"vkCmdPushConstants":            &f.cmdPushConstants,
		"vkCmdDispatch":                 &f.cmdDispatch,
		"vkCmdPipelineBarrier":          &f.cmdPipelineBarrier,
		"vkCmdCopyBuffer":               &f.cmdCopyBuffer,
		"vkCmdFillBuffer":               &f.cmdFillBuffer,
		"vkCreateFence":                 &f.createFence,
		"vkDestroyFence":                &f.destroyFence,
		"vkResetFences":                 &f.resetFences,
		"vkWaitForFences":               &f.waitForFences,
		"vkQueueSubmit":                 &f.queueSubmit,
	})
}
