package vulkan

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// EnvDevice names an environment variable that picks the device when
// Options.Device is empty; it takes the same values.
const EnvDevice = "VLMRT_VULKAN_DEVICE"

// Options choose and configure the device Open opens.
type Options struct {
	// Device picks the physical device: "" the best usable one (discrete,
	// then integrated, virtual, cpu; or EnvDevice when set), a number its
	// index in List, anything else a case-insensitive part of its name.
	Device string
	// forceStaging makes buffers go through a staging buffer even when
	// device memory is host-visible, so tests on lavapipe cover that path.
	forceStaging bool
}

// Device is one opened Vulkan device with a single compute queue. It
// implements gpu.Device and is safe for concurrent use.
type Device struct {
	in   *instance
	phys *physical
	dev  uintptr
	fn   deviceFns

	queue   uintptr
	queueMu sync.Mutex // vkQueueSubmit needs the queue externally synchronized

	mapped bool // buffers live in mapped device-local memory (no staging)
	heap   int  // the device-local heap buffers come from

	xfer transfer // staging uploads and downloads, zero fills

	mu     sync.Mutex
	closed bool
	live   struct{ buffers, pipelines, commands int }
	// liveBytes is the device memory the live buffers hold (Live).
	liveBytes int64
}

var _ gpu.Device = (*Device)(nil)

// Open opens a Vulkan device. Errors from a missing loader, no device, or a
// device without a compute queue or a needed feature wrap gpu.ErrUnavailable
// and say what is missing.
func Open(opts Options) (*Device, error) {
	ps, in, err := physicals()
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		in.destroy()
		return nil, unavailable("the Vulkan loader found no device (no driver installed? e.g. mesa-vulkan-drivers)")
	}
	sel := opts.Device
	if sel == "" {
		sel = os.Getenv(EnvDevice)
	}
	p, err := pick(ps, sel)
	if err != nil {
		in.destroy()
		return nil, err
	}
	d, err := newDevice(in, p, opts)
	if err != nil {
		in.destroy()
		return nil, err
	}
	return d, nil
}

// pick chooses the device sel names, or the best usable one.
func pick(ps []*physical, sel string) (*physical, error) {
	if sel != "" {
		var p *physical
		if i, err := strconv.Atoi(sel); err == nil {
			if i < 0 || i >= len(ps) {
				return nil, unavailable("device %d asked for, but there are %d devices", i, len(ps))
			}
			p = ps[i]
		} else {
			for _, q := range ps {
				if strings.Contains(strings.ToLower(q.Info.Name), strings.ToLower(sel)) {
					p = q
					break
				}
			}
			if p == nil {
				return nil, unavailable("no device named like %q among %s", sel, names(ps))
			}
		}
		if why := p.usable(); why != "" {
			return nil, unavailable("device %d (%s): %s", p.Index, p.Info.Name, why)
		}
		return p, nil
	}
	var best *physical
	for _, p := range ps {
		if p.usable() != "" {
			continue
		}
		if best == nil || p.typeRank > best.typeRank || p.typeRank == best.typeRank && p.Info.MemoryBytes > best.Info.MemoryBytes {
			best = p
		}
	}
	if best == nil {
		var why []string
		for _, p := range ps {
			why = append(why, fmt.Sprintf("device %d (%s): %s", p.Index, p.Info.Name, p.usable()))
		}
		return nil, unavailable("no usable device: %s", strings.Join(why, "; "))
	}
	return best, nil
}

func names(ps []*physical) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%d: %q", p.Index, p.Info.Name))
	}
	return strings.Join(s, ", ")
}

// newDevice creates the logical device on p with the features it has
// enabled, and the queue and transfer resources.
func newDevice(in *instance, p *physical, opts Options) (*Device, error) {
	prio := new(float32)
	*prio = 1
	qci := &deviceQueueCreateInfo{
		SType:            stDeviceQueueCreateInfo,
		QueueFamilyIndex: uint32(p.family),
		QueueCount:       1,
		PQueuePriorities: unsafe.Pointer(prio),
	}
	f := p.Features
	feat := &physicalDeviceFeatures2{SType: stPhysicalDeviceFeatures2}
	feat.Features.ShaderInt16 = vkBool(f.Int16)
	f16 := &physicalDevice16BitStorageFeatures{SType: st16BitStorageFeatures, StorageBuffer16BitAccess: vkBool(f.StorageBuffer16Bit)}
	feat.PNext = unsafe.Pointer(f16)
	if f.StorageBuffer8Bit {
		f8 := &physicalDevice8BitStorageFeatures{SType: st8BitStorageFeatures, StorageBuffer8BitAccess: vkTrue}
		f8.PNext = f16.PNext
		f16.PNext = unsafe.Pointer(f8)
	}
	if f.Int8 || f.Float16 {
		fi := &physicalDeviceShaderFloat16Int8Features{SType: stShaderFloat16Int8Features, ShaderInt8: vkBool(f.Int8), ShaderFloat16: vkBool(f.Float16)}
		fi.PNext = f16.PNext
		f16.PNext = unsafe.Pointer(fi)
	}
	ci := deviceCreateInfo{
		SType:                   stDeviceCreateInfo,
		PNext:                   unsafe.Pointer(feat),
		QueueCreateInfoCount:    1,
		PQueueCreateInfos:       unsafe.Pointer(qci),
		EnabledExtensionCount:   uint32(len(p.enable)),
		PpEnabledExtensionNames: cstrs(p.enable),
	}
	var dev uintptr
	r := result(call(in.createDevice, p.h, uintptr(unsafe.Pointer(&ci)), 0, uintptr(unsafe.Pointer(&dev))))
	if err := r.check("vkCreateDevice on " + p.Info.Name); err != nil {
		return nil, unavailable("%v", err)
	}
	d := &Device{in: in, phys: p, dev: dev, heap: p.largestLocalHeap()}
	d.mapped = p.Info.UnifiedMemory && !opts.forceStaging
	if err := d.fn.load(in, dev); err != nil {
		d.destroy()
		return nil, err
	}
	var q uintptr
	call(d.fn.getDeviceQueue, dev, uintptr(p.family), 0, uintptr(unsafe.Pointer(&q)))
	d.queue = q
	if err := d.xfer.init(d); err != nil {
		d.destroy()
		return nil, err
	}
	return d, nil
}

func vkBool(b bool) uint32 {
	if b {
		return vkTrue
	}
	return 0
}

// Info describes the device.
func (d *Device) Info() gpu.DeviceInfo { return d.phys.Info }

// Features reports the optional features the device has (and has enabled).
func (d *Device) Features() Features { return d.phys.Features }

// Close waits for the device to be idle and destroys it and its instance.
// Every Buffer, Pipeline and Commands it made must be released first; if
// some are not, Close fails and leaves the device open. Closing again does
// nothing.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	if l := d.live; l.buffers+l.pipelines+l.commands > 0 {
		return fmt.Errorf("vulkan: Close with %d buffers, %d pipelines and %d command lists not released", l.buffers, l.pipelines, l.commands)
	}
	d.closed = true
	d.destroy()
	return nil
}

// destroy frees the device and the instance.
func (d *Device) destroy() {
	if d.dev != 0 {
		if d.fn.deviceWaitIdle != 0 {
			call(d.fn.deviceWaitIdle, d.dev)
		}
		d.xfer.release(d)
		if d.fn.destroyDevice != 0 {
			call(d.fn.destroyDevice, d.dev, 0)
		}
		d.dev = 0
	}
	d.in.destroy()
}

// acquire counts a new object made by d; it fails once d is closed.
// Live reports the buffers the device holds and their bytes: a test that
// runs many conversations checks that every round gives its memory back.
func (d *Device) Live() (buffers int, bytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live.buffers, d.liveBytes
}

func (d *Device) addBytes(n int64) {
	d.mu.Lock()
	d.liveBytes += n
	d.mu.Unlock()
}

func (d *Device) acquire(n *int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("vulkan: device is closed")
	}
	*n++
	return nil
}

func (d *Device) releaseCount(n *int) {
	d.mu.Lock()
	*n--
	d.mu.Unlock()
}

// submit submits the command buffer cb, signalling fence when it is done.
func (d *Device) submit(cb uintptr, fence uint64) error {
	cbs := &cb
	si := submitInfo{SType: stSubmitInfo, CommandBufferCount: 1, PCommandBuffers: unsafe.Pointer(cbs)}
	d.queueMu.Lock()
	r := result(call(d.fn.queueSubmit, d.queue, 1, uintptr(unsafe.Pointer(&si)), uintptr(fence)))
	d.queueMu.Unlock()
	return r.check("vkQueueSubmit")
}

// waitSlice is how long one vkWaitForFences call may block, in ns: between
// calls the context is looked at.
const waitSlice = 50_000_000

// wait blocks until fence is signalled and then resets it. It never returns
// before the device is done with the submission (unless the device is
// lost): if ctx ends first it keeps waiting and then returns ctx.Err().
func (d *Device) wait(ctx context.Context, fence uint64) error {
	f := &fence
	var cancelled error
	for {
		r := result(call(d.fn.waitForFences, d.dev, 1, uintptr(unsafe.Pointer(f)), vkTrue, waitSlice))
		if r == success {
			break
		}
		if r != timeout {
			return r.check("vkWaitForFences")
		}
		if cancelled == nil && ctx != nil {
			cancelled = ctx.Err()
		}
	}
	if err := result(call(d.fn.resetFences, d.dev, 1, uintptr(unsafe.Pointer(f)))).check("vkResetFences"); err != nil {
		return err
	}
	return cancelled
}

// newFence creates an unsignalled fence.
func (d *Device) newFence() (uint64, error) {
	ci := fenceCreateInfo{SType: stFenceCreateInfo}
	var f uint64
	err := result(call(d.fn.createFence, d.dev, uintptr(unsafe.Pointer(&ci)), 0, uintptr(unsafe.Pointer(&f)))).check("vkCreateFence")
	return f, err
}

// newCommandPool creates a command pool on the queue family whose buffers
// can be reset one by one, and one primary command buffer in it.
func (d *Device) newCommandPool() (pool uint64, cb uintptr, err error) {
	ci := commandPoolCreateInfo{SType: stCommandPoolCreateInfo, Flags: commandPoolResetCommandBuffer, QueueFamilyIndex: uint32(d.phys.family)}
	if err := result(call(d.fn.createCommandPool, d.dev, uintptr(unsafe.Pointer(&ci)), 0, uintptr(unsafe.Pointer(&pool)))).check("vkCreateCommandPool"); err != nil {
		return 0, 0, err
	}
	ai := commandBufferAllocateInfo{SType: stCommandBufferAllocateInfo, CommandPool: pool, Level: commandBufferLevelPrimary, CommandBufferCount: 1}
	if err := result(call(d.fn.allocateCommandBuffers, d.dev, uintptr(unsafe.Pointer(&ai)), uintptr(unsafe.Pointer(&cb)))).check("vkAllocateCommandBuffers"); err != nil {
		call(d.fn.destroyCommandPool, d.dev, uintptr(pool), 0)
		return 0, 0, err
	}
	return pool, cb, nil
}

// begin starts recording into cb.
func (d *Device) begin(cb uintptr, flags uint32) error {
	bi := commandBufferBeginInfo{SType: stCommandBufferBeginInfo, Flags: flags}
	return result(call(d.fn.beginCommandBuffer, cb, uintptr(unsafe.Pointer(&bi)))).check("vkBeginCommandBuffer")
}

// barrier records a global memory barrier from the src stages and accesses
// to the dst ones.
func (d *Device) barrier(cb uintptr, srcStage, dstStage, srcAccess, dstAccess uint32) {
	mb := memoryBarrier{SType: stMemoryBarrier, SrcAccessMask: srcAccess, DstAccessMask: dstAccess}
	call(d.fn.cmdPipelineBarrier, cb, uintptr(srcStage), uintptr(dstStage), 0, 1, uintptr(unsafe.Pointer(&mb)), 0, 0, 0, 0)
}
