package vulkan

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// Features are the optional device features the kernels use.
type Features struct {
	StorageBuffer16Bit bool // storageBuffer16BitAccess: fp16 in storage buffers
	StorageBuffer8Bit  bool // storageBuffer8BitAccess: int8 in storage buffers
	Int8               bool // shaderInt8: int8 arithmetic (needed to widen int8 loads)
	Float16            bool // shaderFloat16: fp16 arithmetic
	Int16              bool // shaderInt16: int16 arithmetic
}

// PhysicalDevice describes one device as List finds it.
type PhysicalDevice struct {
	Index      int // its index in the driver's list (Options.Device)
	Info       gpu.DeviceInfo
	APIVersion string   // the Vulkan version the device supports
	Features   Features // what the device offers
	// Unusable says why Open would refuse the device ("" when it is usable).
	Unusable string
}

// physical is what this package reads about a physical device.
type physical struct {
	PhysicalDevice
	h        uintptr
	api      uint32
	limits   physicalDeviceLimits
	mem      physicalDeviceMemoryProperties
	family   int             // a queue family with compute, -1 if none
	exts     map[string]bool // device extensions
	enable   []string        // device extensions to enable for Features
	typeRank int             // preference of the device type, higher is better
	hard     string          // why the device is unusable ("" when usable)
}

// describe reads the properties, features, memory and queues of phys.
func (in *instance) describe(index int, phys uintptr) (*physical, error) {
	p := &physical{h: phys, family: -1}
	p.Index = index
	exts, err := in.deviceExtensions(phys)
	if err != nil {
		return nil, err
	}
	p.exts = exts

	// Properties, with the subgroup size (core 1.1) and, where the device
	// has them, the driver's name and version (core 1.2).
	props := &physicalDeviceProperties2{SType: stPhysicalDeviceProperties2}
	sub := &physicalDeviceSubgroupProperties{SType: stSubgroupProperties}
	drv := &physicalDeviceDriverProperties{SType: stDriverProperties}
	props.PNext = unsafe.Pointer(sub)
	// The 1.2 struct may only be chained when the device knows it; the api
	// version is read from a first, unchained query.
	call(in.getPhysicalDeviceProperties2, phys, uintptr(unsafe.Pointer(props)))
	pp := &props.Properties
	p.api = pp.ApiVersion
	haveDriver := (p.api >= makeVersion(1, 2, 0) && in.api >= makeVersion(1, 2, 0)) || exts["VK_KHR_driver_properties"]
	if haveDriver {
		sub.PNext = unsafe.Pointer(drv)
		call(in.getPhysicalDeviceProperties2, phys, uintptr(unsafe.Pointer(props)))
	}
	p.limits = pp.Limits
	p.APIVersion = versionString(p.api)

	info := &p.Info
	info.API = "vulkan"
	info.Name = gostr(pp.DeviceName[:])
	info.Type, p.typeRank = deviceType(pp.DeviceType)
	if haveDriver {
		info.Driver = strings.TrimSpace(gostr(drv.DriverName[:]) + " " + gostr(drv.DriverInfo[:]))
	} else {
		info.Driver = fmt.Sprintf("vendor 0x%04x driver 0x%08x", pp.VendorID, pp.DriverVersion)
	}
	info.SubgroupSize = int(sub.SubgroupSize)
	info.MaxWorkgroupSize = int(p.limits.MaxComputeWorkGroupInvocations)
	info.MaxSharedBytes = int(p.limits.MaxComputeSharedMemorySize)
	info.MaxBufferBytes = int64(p.limits.MaxStorageBufferRange)

	// Features: 16-bit storage is core 1.1; 8-bit storage and int8/fp16
	// arithmetic are core 1.2 or extensions before it.
	feat := &physicalDeviceFeatures2{SType: stPhysicalDeviceFeatures2}
	f16 := &physicalDevice16BitStorageFeatures{SType: st16BitStorageFeatures}
	f8 := &physicalDevice8BitStorageFeatures{SType: st8BitStorageFeatures}
	fi8 := &physicalDeviceShaderFloat16Int8Features{SType: stShaderFloat16Int8Features}
	feat.PNext = unsafe.Pointer(f16)
	core12 := p.api >= makeVersion(1, 2, 0) && in.api >= makeVersion(1, 2, 0)
	has8 := core12 || exts["VK_KHR_8bit_storage"]
	hasI8 := core12 || exts["VK_KHR_shader_float16_int8"]
	tail := &f16.PNext
	if has8 {
		*tail = unsafe.Pointer(f8)
		tail = &f8.PNext
		if !core12 {
			p.enable = append(p.enable, "VK_KHR_8bit_storage")
		}
	}
	if hasI8 {
		*tail = unsafe.Pointer(fi8)
		if !core12 {
			p.enable = append(p.enable, "VK_KHR_shader_float16_int8")
		}
	}
	call(in.getPhysicalDeviceFeatures2, phys, uintptr(unsafe.Pointer(feat)))
	p.Features = Features{
		StorageBuffer16Bit: f16.StorageBuffer16BitAccess != 0,
		StorageBuffer8Bit:  has8 && f8.StorageBuffer8BitAccess != 0,
		Int8:               hasI8 && fi8.ShaderInt8 != 0,
		Float16:            hasI8 && fi8.ShaderFloat16 != 0,
		Int16:              feat.Features.ShaderInt16 != 0,
	}
	if exts["VK_KHR_portability_subset"] {
		// A portability driver (MoltenVK) must have this enabled.
		p.enable = append(p.enable, "VK_KHR_portability_subset")
	}

	// Memory: the largest device-local heap, and whether it can be mapped.
	call(in.getPhysicalDeviceMemoryProperties, phys, uintptr(unsafe.Pointer(&p.mem)))
	heap := p.largestLocalHeap()
	if heap >= 0 {
		info.MemoryBytes = int64(p.mem.MemoryHeaps[heap].Size)
		// A discrete GPU may map its VRAM too (resizable BAR), but host
		// reads through the BAR are uncached and slow: it goes through a
		// staging buffer and does not count as unified.
		info.UnifiedMemory = info.Type != "discrete" &&
			p.findType(^uint32(0), memoryDeviceLocal|memoryHostVisible|memoryHostCoherent, heap) >= 0
	}

	// Queues: any family with compute will do; one queue is all we use.
	var nq uint32
	call(in.getPhysicalDeviceQueueFamilyProperties, phys, uintptr(unsafe.Pointer(&nq)), 0)
	if nq > 0 {
		qs := make([]queueFamilyProperties, nq)
		call(in.getPhysicalDeviceQueueFamilyProperties, phys, uintptr(unsafe.Pointer(&nq)), uintptr(unsafe.Pointer(&qs[0])))
		for i, q := range qs[:nq] {
			if q.QueueFlags&queueCompute != 0 && q.QueueCount > 0 {
				p.family = i
				break
			}
		}
	}

	switch {
	case p.api < makeVersion(1, 1, 0):
		p.hard = fmt.Sprintf("supports Vulkan %s only, vlmrt needs 1.1", p.APIVersion)
	case p.family < 0:
		p.hard = "no queue family with compute"
	case heap < 0:
		p.hard = "no device-local memory heap"
	}
	p.Unusable = p.hard
	return p, nil
}

func deviceType(t uint32) (name string, rank int) {
	switch t {
	case physicalDeviceTypeDiscrete:
		return "discrete", 4
	case physicalDeviceTypeIntegrated:
		return "integrated", 3
	case physicalDeviceTypeVirtual:
		return "virtual", 2
	case physicalDeviceTypeCPU:
		return "cpu", 1
	}
	return "other", 0
}

// usable says why Open refuses p ("" when it does not). The kernels read
// int8 and float16 data from 32-bit words, so no optional feature is
// required: only Vulkan 1.1, a compute queue and device memory.
func (p *physical) usable() string { return p.hard }

// largestLocalHeap is the index of the largest device-local heap, -1 if none.
func (p *physical) largestLocalHeap() int {
	best := -1
	for i := 0; i < int(p.mem.MemoryHeapCount) && i < len(p.mem.MemoryHeaps); i++ {
		h := p.mem.MemoryHeaps[i]
		if h.Flags&heapDeviceLocal != 0 && (best < 0 || h.Size > p.mem.MemoryHeaps[best].Size) {
			best = i
		}
	}
	return best
}

// findType is the first memory type allowed by bits (a
// VkMemoryRequirements.memoryTypeBits) that has all the property flags
// want, in heap (-1: any heap); -1 if none.
func (p *physical) findType(bits, want uint32, heap int) int {
	for i := 0; i < int(p.mem.MemoryTypeCount) && i < len(p.mem.MemoryTypes); i++ {
		t := p.mem.MemoryTypes[i]
		if bits&(1<<i) != 0 && t.PropertyFlags&want == want && (heap < 0 || int(t.HeapIndex) == heap) {
			return i
		}
	}
	return -1
}

// List describes every Vulkan physical device, usable or not, for a device
// listing. It fails with an ErrUnavailable error when there is no loader.
func List() ([]PhysicalDevice, error) {
	ps, in, err := physicals()
	if err != nil {
		return nil, err
	}
	in.destroy()
	out := make([]PhysicalDevice, len(ps))
	for i, p := range ps {
		out[i] = p.PhysicalDevice
	}
	return out, nil
}

// physicals makes an instance and describes its devices; the caller destroys
// the instance.
func physicals() ([]*physical, *instance, error) {
	in, err := newInstance()
	if err != nil {
		return nil, nil, err
	}
	hs, err := in.physicalDevices()
	if err != nil {
		in.destroy()
		return nil, nil, unavailable("%v", err)
	}
	ps := make([]*physical, 0, len(hs))
	for i, h := range hs {
		p, err := in.describe(i, h)
		if err != nil {
			in.destroy()
			return nil, nil, unavailable("device %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	return ps, in, nil
}
