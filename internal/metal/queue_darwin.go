//go:build darwin

package metal

import (
	"context"
	"errors"
	"fmt"
	"unsafe"
)

// MTLCommandBufferStatus values Dispatch checks after waiting.
const (
	statusCompleted = 4
	statusError     = 5
)

// NewCommandQueue makes a queue owned by the caller.
func (d *Device) NewCommandQueue() (*CommandQueue, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	var q *CommandQueue
	err := withPool(func() error {
		id := send(d.id, sel.newCommandQueue) // +1
		if id == 0 {
			return fmt.Errorf("metal: %s could not make a command queue", d.name)
		}
		q = &CommandQueue{id: id}
		return nil
	})
	return q, err
}

func (q *CommandQueue) ready() error {
	if q == nil || q.id == 0 {
		return errors.New("metal: nil or released command queue")
	}
	return nil
}

// Release frees the queue.
func (q *CommandQueue) Release() {
	if q == nil || q.id == 0 {
		return
	}
	id := q.id
	q.id = 0
	_ = withPool(func() error { release(id); return nil })
}

// Dispatch runs p over groups threadgroups of threads threads each, with
// args bound, and waits until the GPU has finished: it encodes one command
// buffer (compute encoder, pipeline, buffers and bytes,
// dispatchThreadgroups), commits it and reports the command buffer's error
// if it did not complete. Arguments are checked before any Metal call.
//
// The GPU cannot be interrupted: a cancelled ctx makes Dispatch return at
// once with ctx's error, while the command buffer finishes in the
// background (it keeps the buffers it reads alive); the outputs are
// undefined until then.
func (q *CommandQueue) Dispatch(ctx context.Context, p *Pipeline, groups, threads Size, args ...Arg) error {
	if err := q.ready(); err != nil {
		return err
	}
	if err := checkDispatch(p, groups, threads, args); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("metal: dispatch %s: %w", p.name, err)
	}
	cb, err := q.encode(p, groups, threads, args)
	if err != nil {
		return err
	}
	if ctx.Done() == nil {
		return wait(cb, p.name)
	}
	done := make(chan error, 1)
	go func() { done <- wait(cb, p.name) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("metal: dispatch %s: %w (the GPU work finishes in the background)", p.name, ctx.Err())
	}
}

// encode builds and commits the command buffer and returns it retained
// (commandBuffer gives an autoreleased object, which must outlive this
// pool); wait releases it.
func (q *CommandQueue) encode(p *Pipeline, groups, threads Size, args []Arg) (uintptr, error) {
	var cb uintptr
	err := withPool(func() error {
		cb = retain(send(q.id, sel.commandBuffer))
		if cb == 0 {
			return fmt.Errorf("metal: dispatch %s: the queue gave no command buffer", p.name)
		}
		enc := send(cb, sel.computeCommandEncoder) // autoreleased, used only here
		if enc == 0 {
			release(cb)
			cb = 0
			return fmt.Errorf("metal: dispatch %s: the command buffer gave no compute encoder", p.name)
		}
		send1(enc, sel.setComputePipelineState, p.id)
		for _, a := range args {
			if a.Buffer != nil {
				send3(enc, sel.setBuffer, a.Buffer.id, uintptr(a.Offset), uintptr(a.Index))
				continue
			}
			// Metal copies the bytes here, so Go memory is not kept.
			sendBytes(enc, sel.setBytes, unsafe.Pointer(&a.Bytes[0]), uintptr(len(a.Bytes)), uintptr(a.Index))
		}
		sendGrid(enc, sel.dispatchThreadgps, toMTLSize(groups), toMTLSize(threads))
		send(enc, sel.endEncoding)
		send(cb, sel.commit)
		return nil
	})
	return cb, err
}

// wait blocks until the command buffer has run, releases it, and turns a
// failed execution into an error carrying Metal's description.
func wait(cb uintptr, kernel string) error {
	return withPool(func() error {
		defer release(cb)
		send(cb, sel.waitUntilCompleted)
		switch st := send(cb, sel.status); st {
		case statusCompleted:
			return nil
		case statusError:
			text := nsErrorText(send(cb, sel.errorSel))
			if text == "" {
				text = "Metal gave no reason"
			}
			return fmt.Errorf("metal: dispatch %s failed on the GPU: %s", kernel, text)
		default:
			return fmt.Errorf("metal: dispatch %s: command buffer in status %d after waiting", kernel, st)
		}
	})
}
