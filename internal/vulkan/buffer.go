package vulkan

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// rawBuffer is a VkBuffer bound to its own VkDeviceMemory, mapped when the
// memory is host-visible.
type rawBuffer struct {
	buf, mem uint64
	size     uint64         // the VkBuffer's size (a multiple of 4)
	host     unsafe.Pointer // the mapping (driver memory), nil when not mapped
}

// allocBuffer makes a buffer of size bytes with usage in memory of the first
// type that has the want property flags (in heap, or any heap when heap <
// 0), mapping it when want includes host-visible.
func (d *Device) allocBuffer(size uint64, usage, want uint32, heap int) (*rawBuffer, error) {
	ci := bufferCreateInfo{SType: stBufferCreateInfo, Size: size, Usage: usage}
	rb := &rawBuffer{size: size}
	if err := result(call(d.fn.createBuffer, d.dev, uintptr(unsafe.Pointer(&ci)), 0, uintptr(unsafe.Pointer(&rb.buf)))).check(fmt.Sprintf("vkCreateBuffer(%d bytes)", size)); err != nil {
		return nil, err
	}
	var req memoryRequirements
	call(d.fn.getBufferMemoryRequirements, d.dev, uintptr(rb.buf), uintptr(unsafe.Pointer(&req)))
	t := d.phys.findType(req.MemoryTypeBits, want, heap)
	if t < 0 {
		d.freeBuffer(rb)
		return nil, fmt.Errorf("vulkan: no memory type with properties 0x%x for a buffer (allowed types 0x%x)", want, req.MemoryTypeBits)
	}
	ai := memoryAllocateInfo{SType: stMemoryAllocateInfo, AllocationSize: req.Size, MemoryTypeIndex: uint32(t)}
	if err := result(call(d.fn.allocateMemory, d.dev, uintptr(unsafe.Pointer(&ai)), 0, uintptr(unsafe.Pointer(&rb.mem)))).check(fmt.Sprintf("vkAllocateMemory(%d bytes, type %d)", req.Size, t)); err != nil {
		d.freeBuffer(rb)
		return nil, err
	}
	if err := result(call(d.fn.bindBufferMemory, d.dev, uintptr(rb.buf), uintptr(rb.mem), 0)).check("vkBindBufferMemory"); err != nil {
		d.freeBuffer(rb)
		return nil, err
	}
	if want&memoryHostVisible != 0 {
		if err := result(call(d.fn.mapMemory, d.dev, uintptr(rb.mem), 0, wholeSizeArg, 0, uintptr(unsafe.Pointer(&rb.host)))).check("vkMapMemory"); err != nil {
			d.freeBuffer(rb)
			return nil, err
		}
	}
	return rb, nil
}

// freeBuffer destroys the buffer and frees its memory (which unmaps it).
func (d *Device) freeBuffer(rb *rawBuffer) {
	if rb.buf != 0 {
		call(d.fn.destroyBuffer, d.dev, uintptr(rb.buf), 0)
		rb.buf = 0
	}
	if rb.mem != 0 {
		call(d.fn.freeMemory, d.dev, uintptr(rb.mem), 0)
		rb.mem = 0
	}
	rb.host = nil
}

// bytes is the mapping as a slice.
func (rb *rawBuffer) bytes() []byte { return unsafe.Slice((*byte)(rb.host), rb.size) }

// Buffer is a storage buffer in device-local memory. It implements
// gpu.Buffer.
type Buffer struct {
	d    *Device
	size int64

	mu  sync.Mutex // guards raw against Release racing a Write or Read
	raw *rawBuffer // nil once released
}

var _ gpu.Buffer = (*Buffer)(nil)

// NewBuffer allocates size bytes of zeroed device-local memory usable as a
// storage buffer (and as a copy source and destination). A size of 0 makes a
// valid, tiny buffer; sizes above Info().MaxBufferBytes are refused since
// the buffer could not be bound whole.
func (d *Device) NewBuffer(size int64) (gpu.Buffer, error) {
	if size < 0 {
		return nil, fmt.Errorf("vulkan: NewBuffer(%d): negative size", size)
	}
	if max := d.phys.Info.MaxBufferBytes; size > max {
		return nil, fmt.Errorf("vulkan: NewBuffer(%d): larger than the device's maxStorageBufferRange of %d bytes", size, max)
	}
	if err := d.acquire(&d.live.buffers); err != nil {
		return nil, err
	}
	// Rounded up to 4 bytes: vkCmdFillBuffer and the kernels' 32-bit loads
	// work in words, and Vulkan has no empty buffers.
	vsize := (uint64(size) + 3) &^ 3
	if vsize == 0 {
		vsize = 4
	}
	usage := uint32(bufferUsageStorage | bufferUsageTransferSrc | bufferUsageTransferDst)
	var rb *rawBuffer
	var err error
	if d.mapped {
		rb, err = d.allocBuffer(vsize, usage, memoryDeviceLocal|memoryHostVisible|memoryHostCoherent, d.heap)
		if err == nil {
			clear(rb.bytes())
		}
	} else {
		rb, err = d.allocBuffer(vsize, usage, memoryDeviceLocal, -1)
		if err == nil {
			err = d.xfer.fill(d, rb)
			if err != nil {
				d.freeBuffer(rb)
			}
		}
	}
	if err != nil {
		d.releaseCount(&d.live.buffers)
		return nil, err
	}
	d.addBytes(int64(vsize))
	return &Buffer{d: d, size: size, raw: rb}, nil
}

// Size is the size asked for at NewBuffer.
func (b *Buffer) Size() int64 { return b.size }

// span checks that n bytes at off lie inside the buffer.
func (b *Buffer) span(op string, off int64, n int) error {
	if off < 0 || off > b.size || int64(n) > b.size-off {
		return fmt.Errorf("vulkan: Buffer.%s of %d bytes at offset %d: outside the buffer's %d bytes", op, n, off, b.size)
	}
	return nil
}

// Write copies data into the buffer at byte offset off: a memcpy into the
// mapping when device memory is host-visible, else through the device's
// staging buffer and a copy on the queue, waited for.
func (b *Buffer) Write(off int64, data []byte) error {
	if err := b.span("Write", off, len(data)); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.raw == nil {
		return fmt.Errorf("vulkan: Buffer.Write: %w", errReleased)
	}
	if len(data) == 0 {
		return nil
	}
	if b.raw.host != nil {
		copy(b.raw.bytes()[off:], data)
		return nil
	}
	return b.d.xfer.copy(b.d, b.raw, uint64(off), data, true)
}

// Read copies len(data) bytes from byte offset off into data.
func (b *Buffer) Read(off int64, data []byte) error {
	if err := b.span("Read", off, len(data)); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.raw == nil {
		return fmt.Errorf("vulkan: Buffer.Read: %w", errReleased)
	}
	if len(data) == 0 {
		return nil
	}
	if b.raw.host != nil {
		copy(data, b.raw.bytes()[off:])
		return nil
	}
	return b.d.xfer.copy(b.d, b.raw, uint64(off), data, false)
}

// Release frees the buffer's memory. It must not be used by a Commands that
// is running; a Commands that recorded it refuses to Run afterwards.
// Releasing again does nothing.
func (b *Buffer) Release() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.raw == nil {
		return
	}
	b.d.freeBuffer(b.raw)
	b.raw = nil
	b.d.releaseCount(&b.d.live.buffers)
	b.d.addBytes(-max(4, (b.size+3)&^3))
}

// handle is the VkBuffer, 0 once released.
func (b *Buffer) handle() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.raw == nil {
		return 0
	}
	return b.raw.buf
}
