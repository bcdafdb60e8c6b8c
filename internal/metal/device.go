package metal

import (
	"errors"
	"fmt"
	"os"
	"unsafe"
)

// MTLResourceStorageModeShared (0 << 4) with the default CPU cache mode and
// hazard tracking: one allocation both the CPU and the GPU address, whose
// reads and writes Metal orders between encoders of a command buffer.
const resourceStorageModeShared = 0

// Open returns the system's default Metal device (MTLCreateSystemDefaultDevice),
// owned by the caller: Release it when done. Each Open holds its own
// reference. A machine without a Metal device is an ErrUnavailable error.
func Open() (*Device, error) {
	if err := load(); err != nil {
		return nil, err
	}
	var d *Device
	err := withPool(func() error {
		id := createSystemDefaultDevice() // +1: the Create rule
		if id == 0 {
			return fmt.Errorf("%w: MTLCreateSystemDefaultDevice found no Metal device", ErrUnavailable)
		}
		d = &Device{
			id:            id,
			name:          goString(send(id, sel.name)),
			workingSet:    sendU64(id, sel.recommendedMaxWorkingSetSize),
			maxBuffer:     int(send(id, sel.maxBufferLength)),
			maxTGMemory:   int(send(id, sel.maxThreadgroupMemoryLength)),
			unifiedMemory: sendBool(id, sel.hasUnifiedMemory),
		}
		return nil
	})
	return d, err
}

// ready reports why d cannot be used: Metal is unavailable (so off darwin
// every method of every value reports ErrUnavailable), or d is nil or
// released.
func (d *Device) ready() error {
	if err := load(); err != nil {
		return err
	}
	if d == nil || d.id == 0 {
		return errors.New("metal: nil or released device")
	}
	return nil
}

// Release drops the device reference Open returned. Release it after the
// buffers, libraries, pipelines and queues made from it.
func (d *Device) Release() {
	if d == nil || d.id == 0 {
		return
	}
	d.libMu.Lock()
	for k, e := range d.libs {
		select {
		case <-e.done:
			e.lib.Release()
		default: // still compiling: NewKernel fails on the released device
		}
		delete(d.libs, k)
	}
	d.libMu.Unlock()
	id := d.id
	d.id = 0
	_ = withPool(func() error { release(id); return nil })
}

func (d *Device) newBuffer(size int, zero bool) (*Buffer, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if err := d.checkBufferSize(size); err != nil {
		return nil, err
	}
	var b *Buffer
	err := withPool(func() error {
		id := send2(d.id, sel.newBufferWithLength, uintptr(size), resourceStorageModeShared) // +1
		if id == 0 {
			return fmt.Errorf("metal: %s could not allocate a %d-byte shared buffer", d.name, size)
		}
		p := sendPtr(id, sel.contents)
		if p == nil {
			release(id)
			return fmt.Errorf("metal: %s gave a %d-byte shared buffer without contents", d.name, size)
		}
		b = &Buffer{id: id, contents: unsafe.Slice((*byte)(p), size)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if zero {
		clear(b.contents)
	}
	return b, nil
}

// PageSize is the granularity NewBufferNoCopy needs: the host's virtual
// memory page (16 KiB on Apple silicon, 4 KiB on Intel Macs).
func PageSize() int { return os.Getpagesize() }

// NewBufferNoCopy wraps memory the caller has mapped (mmap of a weights
// file, or an anonymous mapping) in a shared-storage buffer without
// copying it: the GPU reads the mapping's pages where they are
// (newBufferWithBytesNoCopy:length:options:deallocator:, no deallocator).
// mem must start on a page boundary and span whole pages (PageSize); a
// mapping of a file whose size is not a multiple of the page may be
// wrapped up to the end of its last page, which the mapping covers.
//
// Never pass Go-allocated memory: the garbage collector does not know the
// GPU holds it. The caller keeps mem mapped, and does not write it while
// the GPU may read it, until the buffer is released and no command buffer
// that used it is still running (CommandQueue.Drain). A read-only mapping
// is fine for buffers kernels only read; the buffer's Contents is mem.
func (d *Device) NewBufferNoCopy(mem []byte) (*Buffer, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if err := checkNoCopy(mem, PageSize()); err != nil {
		return nil, err
	}
	if err := d.checkBufferSize(len(mem)); err != nil {
		return nil, err
	}
	var b *Buffer
	err := withPool(func() error {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
		id := send4(d.id, sel.newBufferWithBytesNoCopy, p, uintptr(len(mem)), resourceStorageModeShared, 0) // +1
		if id == 0 {
			return fmt.Errorf("metal: %s could not wrap %d bytes at %#x in a buffer", d.name, len(mem), p)
		}
		b = &Buffer{id: id, contents: mem, noCopy: true}
		return nil
	})
	return b, err
}

// NewBufferOverMapping wraps, without copying, the whole pages holding
// data, which must lie inside a memory mapping (mmap maps whole pages, so
// the pages around data are mapped too): a tensor in an mmapped weights
// file. It returns the buffer and data's offset in it. The rules of
// NewBufferNoCopy apply to the mapping.
func (d *Device) NewBufferOverMapping(data []byte) (buf *Buffer, offset int, err error) {
	if len(data) == 0 {
		return nil, 0, errors.New("metal: buffer over no memory")
	}
	page := uintptr(PageSize())
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	start := addr &^ (page - 1)
	end := (addr + uintptr(len(data)) + page - 1) &^ (page - 1)
	// The window reaches before and after data: rebuild the slice from
	// data's own pointer so the pointer arithmetic stays inside one
	// allocation as far as Go can tell.
	window := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(data)), -int(addr-start))), int(end-start))
	b, err := d.NewBufferNoCopy(window)
	if err != nil {
		return nil, 0, err
	}
	return b, int(addr - start), nil
}

// checkNoCopy refuses memory newBufferWithBytesNoCopy would reject (or,
// with the validation layer off, misuse): empty, not page-aligned, or not
// whole pages.
func checkNoCopy(mem []byte, page int) error {
	if len(mem) == 0 {
		return errors.New("metal: no-copy buffer over no memory")
	}
	if p := uintptr(unsafe.Pointer(unsafe.SliceData(mem))); p%uintptr(page) != 0 {
		return fmt.Errorf("metal: no-copy buffer at %#x: memory must start on a %d-byte page boundary (map it with mmap)", p, page)
	}
	if len(mem)%page != 0 {
		return fmt.Errorf("metal: no-copy buffer of %d bytes: the length must be a whole number of %d-byte pages", len(mem), page)
	}
	return nil
}

// Release frees the buffer; its Contents must not be used afterwards. A
// dispatch still in flight keeps the MTLBuffer alive (its command buffer
// holds a reference) until it finishes; a no-copy buffer's memory stays
// the caller's to unmap, after Drain.
func (b *Buffer) Release() {
	if b == nil || b.id == 0 {
		return
	}
	id := b.id
	b.id, b.contents = 0, nil
	_ = withPool(func() error { release(id); return nil })
}
