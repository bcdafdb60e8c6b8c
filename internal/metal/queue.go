package metal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// MTLCommandBufferStatus values Submit checks after waiting.
const (
	statusCompleted = 4
	statusError     = 5
)

// Encoder settings.
const (
	dispatchSerial     = 0 // MTLDispatchTypeSerial
	dispatchConcurrent = 1 // MTLDispatchTypeConcurrent
	barrierScopeBuffer = 1 // MTLBarrierScopeBuffers
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
	if err := load(); err != nil {
		return err
	}
	if q == nil || q.id == 0 {
		return errors.New("metal: nil or released command queue")
	}
	return nil
}

// Drain waits until every command buffer submitted on q has finished on
// the GPU, including those whose Submit returned early on a cancelled
// context. Call it before unmapping memory wrapped by NewBufferNoCopy.
func (q *CommandQueue) Drain() {
	if q != nil {
		q.inflight.Wait()
	}
}

// Release drains the queue and frees it.
func (q *CommandQueue) Release() {
	if q == nil || q.id == 0 {
		return
	}
	q.Drain()
	id := q.id
	q.id = 0
	_ = withPool(func() error { release(id); return nil })
}

// Timing is what the GPU reports about one command buffer.
type Timing struct {
	// GPU is the time the GPU spent executing it (GPUEndTime −
	// GPUStartTime); 0 when Metal does not report it.
	GPU time.Duration
}

// Submit encodes c into one command buffer, commits it, and waits until
// the GPU has finished it: one host wait for the whole recording. Every
// command is checked before any Metal call. A command buffer that does
// not complete is an error carrying Metal's description and naming the
// error class (a page fault, a timeout, …).
//
// The GPU cannot be interrupted: a cancelled ctx makes Submit return at
// once with ctx's error, while the command buffer finishes in the
// background (it keeps the buffers it uses alive; Drain waits for it);
// the outputs are undefined until then.
func (q *CommandQueue) Submit(ctx context.Context, c *Commands) (Timing, error) {
	if err := q.ready(); err != nil {
		return Timing{}, err
	}
	if c == nil {
		return Timing{}, errors.New("metal: submit: nil commands")
	}
	if err := c.check(); err != nil {
		return Timing{}, fmt.Errorf("metal: submit: %w", err)
	}
	what := c.describe()
	if err := ctx.Err(); err != nil {
		return Timing{}, fmt.Errorf("metal: %s: %w", what, err)
	}
	cb, err := q.encode(c, what, true)
	if err != nil {
		return Timing{}, err
	}
	q.inflight.Add(1)
	return q.await(ctx, cb, what)
}

// Replay is Submit for a recording that runs again and again, such as a
// decode step: it commits a command buffer encoded beforehand when there
// is one, and encodes the next run's while the GPU executes this one, so
// encoding — a few microseconds per dispatch on the host — is off the
// step's critical path. What a run computes is read from buffer contents
// when it executes, so the host may write the next step's inputs (a token
// id, a position) after Replay returns and before the next Replay. The
// spare command buffer holds references to the recording's buffers and
// pipelines until the next Replay or Commands.Release; release it before
// unmapping memory wrapped without copy. Changing the recording (or
// replaying it on another queue) discards the spare.
func (q *CommandQueue) Replay(ctx context.Context, c *Commands) (Timing, error) {
	if err := q.ready(); err != nil {
		return Timing{}, err
	}
	if c == nil {
		return Timing{}, errors.New("metal: replay: nil commands")
	}
	if err := c.check(); err != nil {
		c.Release()
		return Timing{}, fmt.Errorf("metal: replay: %w", err)
	}
	what := c.describe()
	if err := ctx.Err(); err != nil {
		return Timing{}, fmt.Errorf("metal: %s: %w", what, err)
	}
	cb := c.takeSpare(q)
	if cb == 0 {
		var err error
		if cb, err = q.encode(c, what, false); err != nil {
			return Timing{}, err
		}
	}
	commit(cb)
	q.inflight.Add(1)
	// The next run's command buffer, encoded while this one executes. A
	// failure here only means the next Replay encodes afresh.
	if spare, err := q.encode(c, what, false); err == nil {
		c.spare, c.spareQueue, c.spareVersion, c.spareSerial = spare, q, c.version, c.Serial
	}
	return q.await(ctx, cb, what)
}

// await waits for a committed command buffer, returning early with ctx's
// error if ctx ends first (the wait then finishes in the background).
func (q *CommandQueue) await(ctx context.Context, cb uintptr, what string) (Timing, error) {
	if ctx.Done() == nil {
		return q.wait(cb, what)
	}
	type result struct {
		t   Timing
		err error
	}
	done := make(chan result, 1)
	go func() {
		t, err := q.wait(cb, what)
		done <- result{t, err}
	}()
	select {
	case r := <-done:
		return r.t, r.err
	case <-ctx.Done():
		return Timing{}, fmt.Errorf("metal: %s: %w (the GPU work finishes in the background)", what, ctx.Err())
	}
}

// Dispatch runs p over groups threadgroups of threads threads each, with
// args bound, and waits until the GPU has finished: a Submit of one
// dispatch.
func (q *CommandQueue) Dispatch(ctx context.Context, p *Pipeline, groups, threads Size, args ...Arg) error {
	if err := q.ready(); err != nil {
		return err
	}
	var c Commands
	c.Dispatch(p, groups, threads, args...)
	_, err := q.Submit(ctx, &c)
	return err
}

// describe names a recording in errors: "dispatch matvec_q8" for one
// dispatch, else "command buffer of N dispatches".
func (c *Commands) describe() string {
	if len(c.ops) == 1 && c.ops[0].kind == cmdDispatch {
		return "dispatch " + c.ops[0].p.name
	}
	return fmt.Sprintf("command buffer of %d dispatches", c.Dispatches())
}

// encode builds the command buffer, commits it when commit is set, and
// returns it retained (commandBuffer gives an autoreleased object, which
// must outlive this pool); wait (or Commands.Release, for a spare that
// was never committed) releases it. Encoders are autoreleased and die with
// the pool, after endEncoding.
func (q *CommandQueue) encode(c *Commands, what string, commit bool) (uintptr, error) {
	var cb uintptr
	err := withPool(func() error {
		cb = retain(send(q.id, sel.commandBuffer))
		if cb == 0 {
			return fmt.Errorf("metal: %s: the queue gave no command buffer", what)
		}
		dispatchType := uintptr(dispatchConcurrent)
		if c.Serial {
			dispatchType = dispatchSerial
		}
		var enc uintptr // the open encoder, compute or blit
		compute := false
		end := func() {
			if enc != 0 {
				send(enc, sel.endEncoding)
				enc = 0
			}
		}
		fail := func(kind string) error {
			end()
			release(cb)
			cb = 0
			return fmt.Errorf("metal: %s: the command buffer gave no %s encoder", what, kind)
		}
		pending := false // a barrier recorded but not yet encoded
		for _, op := range c.ops {
			switch op.kind {
			case cmdBarrier:
				pending = compute
				continue
			case cmdDispatch:
				if enc == 0 || !compute {
					end()
					if enc = send1(cb, sel.computeCommandEncoderWithDispatchType, dispatchType); enc == 0 {
						return fail("compute")
					}
					compute, pending = true, false
				}
				// A barrier only between dispatches of one encoder:
				// encoder boundaries already order buffer use.
				if pending && !c.Serial {
					send1(enc, sel.memoryBarrierWithScope, barrierScopeBuffer)
				}
				pending = false
				encodeDispatch(enc, op)
			case cmdCopy, cmdFill:
				if enc == 0 || compute {
					end()
					if enc = send(cb, sel.blitCommandEncoder); enc == 0 {
						return fail("blit")
					}
					compute, pending = false, false
				}
				if op.kind == cmdCopy {
					send5(enc, sel.copyBuffer, op.src.id, uintptr(op.srcOff), op.dst.id, uintptr(op.dstOff), uintptr(op.n))
				} else {
					sendRange(enc, sel.fillBuffer, op.dst.id, nsRange{uint64(op.dstOff), uint64(op.n)}, uintptr(op.value))
				}
			}
		}
		end()
		if commit {
			send(cb, sel.commit)
		}
		return nil
	})
	return cb, err
}

// commit commits a command buffer encoded without committing.
func commit(cb uintptr) {
	_ = withPool(func() error { send(cb, sel.commit); return nil })
}

// encodeDispatch sets the pipeline and arguments of one dispatch.
func encodeDispatch(enc uintptr, op command) {
	send1(enc, sel.setComputePipelineState, op.p.id)
	for _, a := range op.args {
		if a.Buffer != nil {
			send3(enc, sel.setBuffer, a.Buffer.id, uintptr(a.Offset), uintptr(a.Index))
			continue
		}
		// Metal copies the bytes here, so Go memory is not kept.
		sendBytes(enc, sel.setBytes, unsafe.Pointer(&a.Bytes[0]), uintptr(len(a.Bytes)), uintptr(a.Index))
	}
	threads := op.threads
	if threads == (Size{}) {
		threads = op.p.threadgroup
	}
	sendGrid(enc, sel.dispatchThreadgps, toMTLSize(op.groups), toMTLSize(threads))
}

// wait blocks until the command buffer has run, releases it, marks it no
// longer in flight, and turns a failed execution into an error carrying
// Metal's description.
func (q *CommandQueue) wait(cb uintptr, what string) (Timing, error) {
	defer q.inflight.Done()
	var t Timing
	err := withPool(func() error {
		defer release(cb)
		send(cb, sel.waitUntilCompleted)
		switch st := send(cb, sel.status); st {
		case statusCompleted:
			if start, end := sendF64(cb, sel.gpuStartTime), sendF64(cb, sel.gpuEndTime); end > start && start > 0 {
				t.GPU = time.Duration(math.Round((end - start) * float64(time.Second)))
			}
			return nil
		case statusError:
			nsErr := send(cb, sel.errorSel)
			text := nsErrorText(nsErr)
			if text == "" {
				text = "Metal gave no reason"
			}
			code := 0
			if nsErr != 0 {
				code = int(send(nsErr, sel.code))
			}
			return fmt.Errorf("metal: %s failed on the GPU (%s): %s", what, commandBufferError(code), text)
		default:
			return fmt.Errorf("metal: %s: command buffer in status %d after waiting", what, st)
		}
	})
	return t, err
}

// commandBufferError names an MTLCommandBufferError code, with what it
// usually means for a compute workload.
func commandBufferError(code int) string {
	switch code {
	case 1:
		return "internal error"
	case 2:
		return "timeout: a kernel ran too long"
	case 3:
		return "page fault: a kernel read or wrote outside its buffers"
	case 4:
		return "access revoked"
	case 7:
		return "not permitted: GPU access denied to a background process"
	case 8:
		return "out of memory"
	case 9:
		return "invalid resource: a buffer was released or purged"
	case 11:
		return "device removed"
	case 12:
		return "stack overflow"
	}
	return fmt.Sprintf("MTLCommandBufferError %d", code)
}
