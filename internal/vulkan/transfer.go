package vulkan

import (
	"context"
	"fmt"
	"sync"
	"unsafe"
)

// stagingMax bounds the staging buffer: larger transfers go in pieces. (A
// variable so that a test can make the pieces small.)
var stagingMax = 64 << 20

// transfer moves data between Go memory and buffers that are not
// host-visible, through one host-visible staging buffer, and zero-fills new
// buffers. It has its own command buffer and fence; mu serializes its users.
type transfer struct {
	mu      sync.Mutex
	pool    uint64
	cb      uintptr
	fence   uint64
	staging *rawBuffer // grown on demand up to stagingMax
}

func (t *transfer) init(d *Device) error {
	var err error
	if t.pool, t.cb, err = d.newCommandPool(); err != nil {
		return err
	}
	t.fence, err = d.newFence()
	return err
}

func (t *transfer) release(d *Device) {
	if t.staging != nil {
		d.freeBuffer(t.staging)
		t.staging = nil
	}
	if t.fence != 0 {
		call(d.fn.destroyFence, d.dev, uintptr(t.fence), 0)
		t.fence = 0
	}
	if t.pool != 0 {
		call(d.fn.destroyCommandPool, d.dev, uintptr(t.pool), 0)
		t.pool = 0
	}
}

// run records with rec into the transfer command buffer, submits it and
// waits for it. The caller holds t.mu.
func (t *transfer) run(d *Device, rec func(cb uintptr)) error {
	if err := result(call(d.fn.resetCommandBuffer, t.cb, 0)).check("vkResetCommandBuffer"); err != nil {
		return err
	}
	if err := d.begin(t.cb, commandBufferOneTimeSubmit); err != nil {
		return err
	}
	// Earlier dispatches may have written the buffer; a transfer after
	// them must see those writes, and a dispatch after it must see the copy.
	all := uint32(stageComputeShader | stageTransfer)
	d.barrier(t.cb, all, stageTransfer, accessShaderWrite|accessTransferWrite, accessTransferRead|accessTransferWrite)
	rec(t.cb)
	d.barrier(t.cb, stageTransfer, all|stageHost, accessTransferWrite, accessShaderRead|accessShaderWrite|accessTransferRead|accessTransferWrite|accessHostRead)
	if err := result(call(d.fn.endCommandBuffer, t.cb)).check("vkEndCommandBuffer"); err != nil {
		return err
	}
	if err := d.submit(t.cb, t.fence); err != nil {
		return err
	}
	return d.wait(context.Background(), t.fence)
}

// fill zeroes all of rb.
func (t *transfer) fill(d *Device, rb *rawBuffer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.run(d, func(cb uintptr) {
		call(d.fn.cmdFillBuffer, cb, uintptr(rb.buf), 0, wholeSizeArg, 0)
	})
}

// copy copies data to (write) or from rb at byte offset off, in pieces of
// at most stagingMax bytes.
func (t *transfer) copy(d *Device, rb *rawBuffer, off uint64, data []byte, write bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.grow(d, len(data)); err != nil {
		return err
	}
	st := t.staging.bytes()
	for len(data) > 0 {
		n := min(len(data), len(st))
		region := &bufferCopy{SrcOffset: 0, DstOffset: off, Size: uint64(n)}
		src, dst := t.staging.buf, rb.buf
		if write {
			copy(st, data[:n])
		} else {
			region.SrcOffset, region.DstOffset = off, 0
			src, dst = dst, src
		}
		err := t.run(d, func(cb uintptr) {
			call(d.fn.cmdCopyBuffer, cb, uintptr(src), uintptr(dst), 1, uintptr(unsafe.Pointer(region)))
		})
		if err != nil {
			return err
		}
		if !write {
			copy(data[:n], st)
		}
		data, off = data[n:], off+uint64(n)
	}
	return nil
}

// grow makes the staging buffer hold min(n, stagingMax) bytes.
func (t *transfer) grow(d *Device, n int) error {
	want := uint64(min(n, stagingMax))
	if t.staging != nil && t.staging.size >= want {
		return nil
	}
	if t.staging != nil {
		d.freeBuffer(t.staging)
		t.staging = nil
	}
	size := max(want, min(1<<20, uint64(stagingMax)))
	rb, err := d.allocBuffer(size, bufferUsageTransferSrc|bufferUsageTransferDst, memoryHostVisible|memoryHostCoherent, -1)
	if err != nil {
		return fmt.Errorf("vulkan: staging buffer: %w", err)
	}
	t.staging = rb
	return nil
}
