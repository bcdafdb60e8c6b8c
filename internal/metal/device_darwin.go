//go:build darwin

package metal

import (
	"errors"
	"fmt"
	"unsafe"
)

// MTLResourceStorageModeShared (0 << 4) with the default CPU cache mode and
// hazard tracking: one allocation both the CPU and the GPU address.
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
			id:         id,
			name:       goString(send(id, sel.name)),
			workingSet: sendU64(id, sel.recommendedMaxWorkingSetSize),
			maxBuffer:  int(send(id, sel.maxBufferLength)),
		}
		return nil
	})
	return d, err
}

func (d *Device) ready() error {
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

// Release frees the buffer; its Contents must not be used afterwards. A
// dispatch still in flight keeps the memory alive (its command buffer
// holds a reference) until it finishes.
func (b *Buffer) Release() {
	if b == nil || b.id == 0 {
		return
	}
	id := b.id
	b.id, b.contents = 0, nil
	_ = withPool(func() error { release(id); return nil })
}
