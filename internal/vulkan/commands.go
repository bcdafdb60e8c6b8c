package vulkan

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// Descriptor pools are made this big; a Commands makes another whenever the
// current one is full.
const (
	poolSets    = 256
	poolBuffers = poolSets * 8
)

// Commands is one command buffer, recorded once and submitted any number of
// times, with the descriptor sets its dispatches bind and a fence to wait
// on. It implements gpu.Commands and is used by one goroutine at a time.
type Commands struct {
	d     *Device
	pool  uint64  // command pool, owned: command pools are not thread-safe
	cb    uintptr // the command buffer
	fence uint64

	// Descriptor pools; pools[cur] is being allocated from, with sets and
	// bufs descriptors left. Reset rewinds to the first.
	pools      []uint64
	cur        int
	sets, bufs int

	ended    bool  // recording is over: the list has run once
	err      error // a Barrier that could not be recorded, reported by Run
	released bool

	// What the recorded dispatches use, checked at Run so that a released
	// buffer or pipeline is an error rather than a use of freed memory.
	usedBufs  map[*Buffer]struct{}
	usedPipes map[*Pipeline]struct{}
}

var _ gpu.Commands = (*Commands)(nil)

// NewCommands starts an empty command list.
func (d *Device) NewCommands() (gpu.Commands, error) {
	if err := d.acquire(&d.live.commands); err != nil {
		return nil, err
	}
	c := &Commands{d: d, usedBufs: map[*Buffer]struct{}{}, usedPipes: map[*Pipeline]struct{}{}}
	err := c.init()
	if err != nil {
		c.destroy()
		d.releaseCount(&d.live.commands)
		return nil, err
	}
	return c, nil
}

func (c *Commands) init() error {
	var err error
	if c.pool, c.cb, err = c.d.newCommandPool(); err != nil {
		return err
	}
	if c.fence, err = c.d.newFence(); err != nil {
		return err
	}
	if err := c.newPool(); err != nil {
		return err
	}
	return c.d.begin(c.cb, 0) // no ONE_TIME_SUBMIT: the list is replayed
}

// newPool makes pools[cur] a fresh descriptor pool.
func (c *Commands) newPool() error {
	size := &descriptorPoolSize{Type: descriptorTypeStorageBuffer, DescriptorCount: poolBuffers}
	ci := descriptorPoolCreateInfo{SType: stDescriptorPoolCreateInfo, MaxSets: poolSets, PoolSizeCount: 1, PPoolSizes: unsafe.Pointer(size)}
	var pool uint64
	if err := result(call(c.d.fn.createDescriptorPool, c.d.dev, uintptr(unsafe.Pointer(&ci)), 0, uintptr(unsafe.Pointer(&pool)))).check("vkCreateDescriptorPool"); err != nil {
		return err
	}
	c.pools = append(c.pools, pool)
	c.cur = len(c.pools) - 1
	c.sets, c.bufs = poolSets, poolBuffers
	return nil
}

// allocSet allocates a descriptor set of layout with n buffers, moving on to
// the next pool (made if need be) when the current one cannot hold it. The
// counts are kept here rather than relying on VK_ERROR_OUT_OF_POOL_MEMORY,
// which drivers need not return.
func (c *Commands) allocSet(layout uint64, n int) (uint64, error) {
	if c.sets < 1 || c.bufs < n {
		if c.cur+1 < len(c.pools) {
			c.cur++
			c.sets, c.bufs = poolSets, poolBuffers
		} else if err := c.newPool(); err != nil {
			return 0, err
		}
	}
	layouts := &layout
	ai := descriptorSetAllocateInfo{SType: stDescriptorSetAllocateInfo, DescriptorPool: c.pools[c.cur], DescriptorSetCount: 1, PSetLayouts: unsafe.Pointer(layouts)}
	var set uint64
	if err := result(call(c.d.fn.allocateDescriptorSets, c.d.dev, uintptr(unsafe.Pointer(&ai)), uintptr(unsafe.Pointer(&set)))).check("vkAllocateDescriptorSets"); err != nil {
		return 0, err
	}
	c.sets--
	c.bufs -= n
	return set, nil
}

// Dispatch records pipeline p over groups workgroups with bufs at bindings
// 0..len(bufs)-1 and push as the push constants. Arguments are checked
// (counts, sizes, nil or released values, values from another device, group
// counts against maxComputeWorkGroupCount); nothing is recorded on error.
func (c *Commands) Dispatch(gp gpu.Pipeline, groups [3]uint32, push []byte, bufs ...gpu.Buffer) error {
	if c.released {
		return fmt.Errorf("vulkan: Dispatch: %w", errReleased)
	}
	if c.ended {
		return errors.New("vulkan: Dispatch after Run: the list is recorded; Reset it to record again")
	}
	p, ok := gp.(*Pipeline)
	if !ok || p == nil {
		return fmt.Errorf("vulkan: Dispatch: pipeline is %T, not a *vulkan.Pipeline", gp)
	}
	k := p.k
	if p.d != c.d {
		return fmt.Errorf("vulkan: Dispatch %s: pipeline is from another device", k.Name)
	}
	if !p.alive() {
		return fmt.Errorf("vulkan: Dispatch %s: pipeline %w", k.Name, errReleased)
	}
	if len(push) != k.PushBytes {
		return fmt.Errorf("vulkan: Dispatch %s: %d bytes of push constants, the kernel takes %d", k.Name, len(push), k.PushBytes)
	}
	if len(bufs) != k.Buffers {
		return fmt.Errorf("vulkan: Dispatch %s: %d buffers, the kernel binds %d", k.Name, len(bufs), k.Buffers)
	}
	lim := &c.d.phys.limits
	for i, g := range groups {
		if g == 0 || g > lim.MaxComputeWorkGroupCount[i] {
			return fmt.Errorf("vulkan: Dispatch %s: %d workgroups along %c, the device allows 1..%d", k.Name, g, "xyz"[i], lim.MaxComputeWorkGroupCount[i])
		}
	}
	handles := make([]uint64, len(bufs))
	bs := make([]*Buffer, len(bufs))
	for i, gb := range bufs {
		b, ok := gb.(*Buffer)
		if !ok || b == nil {
			return fmt.Errorf("vulkan: Dispatch %s: buffer %d is %T, not a *vulkan.Buffer", k.Name, i, gb)
		}
		if b.d != c.d {
			return fmt.Errorf("vulkan: Dispatch %s: buffer %d is from another device", k.Name, i)
		}
		if handles[i] = b.handle(); handles[i] == 0 {
			return fmt.Errorf("vulkan: Dispatch %s: buffer %d %w", k.Name, i, errReleased)
		}
		bs[i] = b
	}

	fn := &c.d.fn
	if len(bufs) > 0 {
		set, err := c.allocSet(p.setLayout, len(bufs))
		if err != nil {
			return fmt.Errorf("vulkan: Dispatch %s: %w", k.Name, err)
		}
		infos := make([]descriptorBufferInfo, len(bufs))
		writes := make([]writeDescriptorSet, len(bufs))
		for i, h := range handles {
			infos[i] = descriptorBufferInfo{Buffer: h, Offset: 0, Range: wholeSize}
			writes[i] = writeDescriptorSet{
				SType: stWriteDescriptorSet, DstSet: set, DstBinding: uint32(i),
				DescriptorCount: 1, DescriptorType: descriptorTypeStorageBuffer,
				PBufferInfo: unsafe.Pointer(&infos[i]),
			}
		}
		call(fn.updateDescriptorSets, c.d.dev, uintptr(len(writes)), uintptr(unsafe.Pointer(&writes[0])), 0, 0)
		call(fn.cmdBindPipeline, c.cb, pipelineBindPointCompute, uintptr(p.pipe))
		sets := &set
		call(fn.cmdBindDescriptorSets, c.cb, pipelineBindPointCompute, uintptr(p.layout), 0, 1, uintptr(unsafe.Pointer(sets)), 0, 0)
	} else {
		call(fn.cmdBindPipeline, c.cb, pipelineBindPointCompute, uintptr(p.pipe))
	}
	if len(push) > 0 {
		// The values are copied into the command buffer by this call.
		call(fn.cmdPushConstants, c.cb, uintptr(p.layout), shaderStageCompute, 0, uintptr(len(push)), uintptr(unsafe.Pointer(&push[0])))
	}
	call(fn.cmdDispatch, c.cb, uintptr(groups[0]), uintptr(groups[1]), uintptr(groups[2]))
	c.usedPipes[p] = struct{}{}
	for _, b := range bs {
		c.usedBufs[b] = struct{}{}
	}
	return nil
}

// Barrier records a global memory barrier: the shader and transfer writes
// of everything before it are visible to the shader and transfer reads and
// writes of everything after it. A Barrier that cannot be recorded (after
// Run or Release) makes the next Run fail.
func (c *Commands) Barrier() {
	if c.released || c.ended {
		if c.err == nil {
			c.err = errors.New("vulkan: Barrier after Run or Release: the list is recorded; Reset it to record again")
		}
		return
	}
	all := uint32(stageComputeShader | stageTransfer)
	c.d.barrier(c.cb, all, all, accessShaderWrite|accessTransferWrite, accessShaderRead|accessShaderWrite|accessTransferRead|accessTransferWrite)
}

// Run submits the list and waits until the device has finished it. The
// first Run ends the recording; later ones resubmit the same command buffer.
// ctx is checked before submitting; if it ends while the device runs, Run
// still waits for the device (the buffers are in use until then) and then
// returns ctx.Err().
func (c *Commands) Run(ctx context.Context) error {
	if c.released {
		return fmt.Errorf("vulkan: Run: %w", errReleased)
	}
	if c.err != nil {
		return c.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for p := range c.usedPipes {
		if !p.alive() {
			return fmt.Errorf("vulkan: Run: pipeline %s was released after it was recorded", p.k.Name)
		}
	}
	for b := range c.usedBufs {
		if b.handle() == 0 {
			return fmt.Errorf("vulkan: Run: a buffer of %d bytes was released after it was recorded", b.size)
		}
	}
	if !c.ended {
		// Make the list's writes visible to the host (Buffer.Read of mapped
		// memory) once the fence is signalled.
		c.d.barrier(c.cb, stageComputeShader|stageTransfer, stageHost, accessShaderWrite|accessTransferWrite, accessHostRead)
		if err := result(call(c.d.fn.endCommandBuffer, c.cb)).check("vkEndCommandBuffer"); err != nil {
			c.err = err
			return err
		}
		c.ended = true
	}
	if err := c.d.submit(c.cb, c.fence); err != nil {
		return err
	}
	return c.d.wait(ctx, c.fence)
}

// Reset empties the list: the command buffer is reset and its descriptor
// sets freed, and recording starts over.
func (c *Commands) Reset() error {
	if c.released {
		return fmt.Errorf("vulkan: Reset: %w", errReleased)
	}
	fn := &c.d.fn
	if err := result(call(fn.resetCommandBuffer, c.cb, 0)).check("vkResetCommandBuffer"); err != nil {
		return err
	}
	for _, p := range c.pools[:c.cur+1] {
		if err := result(call(fn.resetDescriptorPool, c.d.dev, uintptr(p), 0)).check("vkResetDescriptorPool"); err != nil {
			return err
		}
	}
	c.cur, c.sets, c.bufs = 0, poolSets, poolBuffers
	clear(c.usedBufs)
	clear(c.usedPipes)
	c.ended, c.err = false, nil
	return c.d.begin(c.cb, 0)
}

// Release frees the command buffer, its pools and fence. It must not be
// called while Run is in progress. Releasing again does nothing.
func (c *Commands) Release() {
	if c == nil || c.released {
		return
	}
	c.released = true
	c.destroy()
	c.d.releaseCount(&c.d.live.commands)
}

func (c *Commands) destroy() {
	fn, dev := &c.d.fn, c.d.dev
	for _, p := range c.pools {
		call(fn.destroyDescriptorPool, dev, uintptr(p), 0)
	}
	c.pools = nil
	if c.fence != 0 {
		call(fn.destroyFence, dev, uintptr(c.fence), 0)
		c.fence = 0
	}
	if c.pool != 0 {
		call(fn.destroyCommandPool, dev, uintptr(c.pool), 0) // frees c.cb
		c.pool, c.cb = 0, 0
	}
}
