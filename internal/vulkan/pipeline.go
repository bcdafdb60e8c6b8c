package vulkan

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// Pipeline is a compute pipeline for one kernel with fixed specialization
// constants, with its descriptor set layout (set 0: k.Buffers storage
// buffers) and pipeline layout (plus k.PushBytes of push constants). It
// implements gpu.Pipeline.
type Pipeline struct {
	d *Device
	k *gpu.Kernel

	mu                sync.Mutex
	setLayout, layout uint64
	pipe              uint64
	released          bool
}

var _ gpu.Pipeline = (*Pipeline)(nil)

const spirvMagic = 0x07230203

// Pipeline builds kernel k with specialization constants spec (spec[i] is
// constant_id i). It checks the kernel against the device: its shared
// memory, push constant size, buffer count and, when constant 0 is the
// workgroup size, that size.
func (d *Device) Pipeline(k *gpu.Kernel, spec []uint32) (gpu.Pipeline, error) {
	if err := d.checkKernel(k, spec); err != nil {
		return nil, err
	}
	if err := d.acquire(&d.live.pipelines); err != nil {
		return nil, err
	}
	p := &Pipeline{d: d, k: k}
	if err := p.build(spec); err != nil {
		p.destroy()
		d.releaseCount(&d.live.pipelines)
		return nil, fmt.Errorf("vulkan: kernel %s: %w", k.Name, err)
	}
	return p, nil
}

func (d *Device) checkKernel(k *gpu.Kernel, spec []uint32) error {
	if k == nil {
		return fmt.Errorf("vulkan: Pipeline: nil kernel")
	}
	lim := &d.phys.limits
	switch {
	case len(k.SPIRV) < 20 || len(k.SPIRV)%4 != 0 || binary.LittleEndian.Uint32(k.SPIRV) != spirvMagic:
		return fmt.Errorf("vulkan: kernel %s: SPIRV is not SPIR-V (%d bytes, need a multiple of 4 starting with the magic number)", k.Name, len(k.SPIRV))
	case len(spec) != len(k.Spec):
		return fmt.Errorf("vulkan: kernel %s: %d specialization constants given, the kernel has %d (%v)", k.Name, len(spec), len(k.Spec), k.Spec)
	case k.Buffers < 0 || uint32(k.Buffers) > lim.MaxPerStageDescriptorStorageBuffers:
		return fmt.Errorf("vulkan: kernel %s: %d storage buffers, the device allows %d per stage", k.Name, k.Buffers, lim.MaxPerStageDescriptorStorageBuffers)
	case k.PushBytes < 0 || k.PushBytes%4 != 0 || uint32(k.PushBytes) > lim.MaxPushConstantsSize:
		return fmt.Errorf("vulkan: kernel %s: %d bytes of push constants, need a multiple of 4 up to the device's %d", k.Name, k.PushBytes, lim.MaxPushConstantsSize)
	}
	if shared, err := k.SharedBytes(spec); err != nil {
		return fmt.Errorf("vulkan: %w", err)
	} else if uint32(shared) > lim.MaxComputeSharedMemorySize {
		return fmt.Errorf("vulkan: kernel %s (%s) needs %d bytes of shared memory, the device (%s) has %d per workgroup", k.Name, k.DescribeSpec(spec), shared, d.phys.Info.Name, lim.MaxComputeSharedMemorySize)
	}
	if len(spec) > 0 && (k.Spec[0] == "LX" || k.Spec[0] == "local_size_x") { // constant 0 is the workgroup size (gpu.Kernel)
		if x := spec[0]; x == 0 || x > lim.MaxComputeWorkGroupSize[0] || x > lim.MaxComputeWorkGroupInvocations {
			return fmt.Errorf("vulkan: kernel %s: workgroup size %d, the device allows 1..%d", k.Name, x, min(lim.MaxComputeWorkGroupSize[0], lim.MaxComputeWorkGroupInvocations))
		}
	}
	return nil
}

func (p *Pipeline) build(spec []uint32) error {
	d, k := p.d, p.k
	// Descriptor set layout: bindings 0..Buffers-1, storage buffers.
	bindings := make([]descriptorSetLayoutBinding, max(k.Buffers, 1))
	for i := range bindings {
		bindings[i] = descriptorSetLayoutBinding{Binding: uint32(i), DescriptorType: descriptorTypeStorageBuffer, DescriptorCount: 1, StageFlags: shaderStageCompute}
	}
	dl := descriptorSetLayoutCreateInfo{SType: stDescriptorSetLayoutCreateInfo, BindingCount: uint32(k.Buffers), PBindings: unsafe.Pointer(&bindings[0])}
	if err := result(call(d.fn.createDescriptorSetLayout, d.dev, uintptr(unsafe.Pointer(&dl)), 0, uintptr(unsafe.Pointer(&p.setLayout)))).check("vkCreateDescriptorSetLayout"); err != nil {
		return err
	}

	layouts := &p.setLayout
	pr := &pushConstantRange{StageFlags: shaderStageCompute, Size: uint32(k.PushBytes)}
	pl := pipelineLayoutCreateInfo{SType: stPipelineLayoutCreateInfo, SetLayoutCount: 1, PSetLayouts: unsafe.Pointer(layouts)}
	if k.PushBytes > 0 {
		pl.PushConstantRangeCount, pl.PPushConstantRanges = 1, unsafe.Pointer(pr)
	}
	if err := result(call(d.fn.createPipelineLayout, d.dev, uintptr(unsafe.Pointer(&pl)), 0, uintptr(unsafe.Pointer(&p.layout)))).check("vkCreatePipelineLayout"); err != nil {
		return err
	}

	// The shader module is needed only while the pipeline is created. The
	// code is copied into []uint32 because pCode must be 4-byte aligned.
	code := make([]uint32, len(k.SPIRV)/4)
	for i := range code {
		code[i] = binary.LittleEndian.Uint32(k.SPIRV[4*i:])
	}
	sm := shaderModuleCreateInfo{SType: stShaderModuleCreateInfo, CodeSize: uintptr(len(k.SPIRV)), PCode: unsafe.Pointer(&code[0])}
	var module uint64
	if err := result(call(d.fn.createShaderModule, d.dev, uintptr(unsafe.Pointer(&sm)), 0, uintptr(unsafe.Pointer(&module)))).check("vkCreateShaderModule"); err != nil {
		return err
	}
	defer call(d.fn.destroyShaderModule, d.dev, uintptr(module), 0)

	stage := pipelineShaderStageCreateInfo{
		SType:  stPipelineShaderStageCreateInfo,
		Stage:  shaderStageCompute,
		Module: module,
		PName:  unsafe.Pointer(&cstr("main")[0]),
	}
	if len(spec) > 0 {
		entries := make([]specializationMapEntry, len(spec))
		data := make([]uint32, len(spec))
		for i, v := range spec {
			entries[i] = specializationMapEntry{ConstantID: uint32(i), Offset: uint32(4 * i), Size: 4}
			data[i] = v
		}
		stage.PSpecializationInfo = unsafe.Pointer(&specializationInfo{
			MapEntryCount: uint32(len(spec)),
			PMapEntries:   unsafe.Pointer(&entries[0]),
			DataSize:      uintptr(4 * len(spec)),
			PData:         unsafe.Pointer(&data[0]),
		})
	}
	cp := computePipelineCreateInfo{SType: stComputePipelineCreateInfo, Stage: stage, Layout: p.layout, BasePipelineIndex: -1}
	return result(call(d.fn.createComputePipelines, d.dev, 0, 1, uintptr(unsafe.Pointer(&cp)), 0, uintptr(unsafe.Pointer(&p.pipe)))).check("vkCreateComputePipelines")
}

// Kernel is the kernel the pipeline was built from.
func (p *Pipeline) Kernel() *gpu.Kernel { return p.k }

// Release destroys the pipeline and its layouts. A Commands that recorded
// it must not be running, and refuses to Run afterwards. Releasing again
// does nothing.
func (p *Pipeline) Release() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released {
		return
	}
	p.released = true
	p.destroy()
	p.d.releaseCount(&p.d.live.pipelines)
}

func (p *Pipeline) destroy() {
	d := p.d
	if p.pipe != 0 {
		call(d.fn.destroyPipeline, d.dev, uintptr(p.pipe), 0)
		p.pipe = 0
	}
	if p.layout != 0 {
		call(d.fn.destroyPipelineLayout, d.dev, uintptr(p.layout), 0)
		p.layout = 0
	}
	if p.setLayout != 0 {
		call(d.fn.destroyDescriptorSetLayout, d.dev, uintptr(p.setLayout), 0)
		p.setLayout = 0
	}
}

// alive reports whether the pipeline has not been released.
func (p *Pipeline) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.released
}
