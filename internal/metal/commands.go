package metal

import (
	"fmt"
	"slices"
)

// Commands records the work of one command buffer — a decode step, an
// image encode — as plain Go values: kernel dispatches, memory barriers
// between them, buffer copies and fills. CommandQueue.Submit checks every
// command, then encodes them all into one MTLCommandBuffer, commits it and
// waits once.
//
// Consecutive dispatches share one compute encoder of the concurrent
// dispatch type: the GPU may overlap them, so a dispatch that reads what
// an earlier one wrote must come after a Barrier (memoryBarrierWithScope:
// buffers), exactly where a Vulkan command buffer has a pipeline barrier.
// A Copy or Fill ends the compute encoder and runs in a blit encoder;
// Metal orders encoders of one command buffer by their (tracked) buffer
// use, so no barrier is needed around them. With Serial set every compute
// encoder is serial instead and the barriers are redundant — a diagnostic:
// a result that changes with Serial means a barrier is missing.
//
// A Commands value is reusable: Reset empties it, and the same recording
// may be submitted again (a Metal command buffer is single-use, so each
// Submit encodes afresh; per-step values such as the position live in
// buffers the host writes between submissions). It is not safe for
// concurrent use while being recorded.
type Commands struct {
	ops    []command
	Serial bool

	// version counts changes to the recording; a spare command buffer
	// (Replay) encoded at another version, serial setting or queue is
	// stale.
	version      int
	spare        uintptr // retained, encoded, not committed; 0 if none
	spareQueue   *CommandQueue
	spareVersion int
	spareSerial  bool
}

type commandKind uint8

const (
	cmdDispatch commandKind = iota
	cmdBarrier
	cmdCopy
	cmdFill
)

type command struct {
	kind commandKind
	// dispatch
	p               *Pipeline
	groups, threads Size
	args            []Arg
	// copy (src → dst) and fill (dst)
	src, dst       *Buffer
	srcOff, dstOff int
	n              int
	value          byte
}

// Dispatch records p over groups threadgroups with args bound. threads is
// the threadgroup size; the zero Size means the pipeline's own
// (PipelineOptions.Threadgroup). Inline Bytes arguments are copied now, so
// the caller may reuse them.
func (c *Commands) Dispatch(p *Pipeline, groups, threads Size, args ...Arg) {
	a := slices.Clone(args)
	for i := range a {
		if a[i].Bytes != nil {
			a[i].Bytes = slices.Clone(a[i].Bytes)
		}
	}
	c.ops = append(c.ops, command{kind: cmdDispatch, p: p, groups: groups, threads: threads, args: a})
	c.version++
}

// Barrier makes every dispatch recorded after it see the buffer writes of
// every dispatch recorded before it.
func (c *Commands) Barrier() {
	c.ops = append(c.ops, command{kind: cmdBarrier})
	c.version++
}

// Copy records copying n bytes from src at srcOff to dst at dstOff (a blit;
// offsets and n multiples of 4, as macOS requires).
func (c *Commands) Copy(dst *Buffer, dstOff int, src *Buffer, srcOff, n int) {
	c.ops = append(c.ops, command{kind: cmdCopy, dst: dst, dstOff: dstOff, src: src, srcOff: srcOff, n: n})
	c.version++
}

// Fill records setting n bytes of b from off to value (a blit; off and n
// multiples of 4).
func (c *Commands) Fill(b *Buffer, off, n int, value byte) {
	c.ops = append(c.ops, command{kind: cmdFill, dst: b, dstOff: off, n: n, value: value})
	c.version++
}

// Len is the number of commands recorded (barriers included).
func (c *Commands) Len() int { return len(c.ops) }

// Dispatches is the number of kernel dispatches recorded.
func (c *Commands) Dispatches() int {
	n := 0
	for _, op := range c.ops {
		if op.kind == cmdDispatch {
			n++
		}
	}
	return n
}

// Reset empties the recording, keeping its storage, and drops any spare
// command buffer.
func (c *Commands) Reset() {
	c.Release()
	clear(c.ops)
	c.ops = c.ops[:0]
	c.version++
}

// Release drops the spare command buffer Replay may hold (and with it its
// references to buffers and pipelines). The recording stays usable.
func (c *Commands) Release() {
	if c == nil || c.spare == 0 {
		return
	}
	cb := c.spare
	c.spare, c.spareQueue = 0, nil
	_ = withPool(func() error { release(cb); return nil })
}

// takeSpare hands over the spare command buffer if it was encoded from
// this very recording for q; a stale one is released.
func (c *Commands) takeSpare(q *CommandQueue) uintptr {
	if c.spare == 0 {
		return 0
	}
	if c.spareQueue != q || c.spareVersion != c.version || c.spareSerial != c.Serial {
		c.Release()
		return 0
	}
	cb := c.spare
	c.spare, c.spareQueue = 0, nil
	return cb
}

// check validates every command before any Metal call: Metal's own checks
// abort the process, or without the validation layer read out of bounds.
func (c *Commands) check() error {
	if len(c.ops) == 0 {
		return fmt.Errorf("metal: submit: no commands recorded")
	}
	for i, op := range c.ops {
		var err error
		switch op.kind {
		case cmdDispatch:
			threads := op.threads
			if threads == (Size{}) && op.p != nil {
				threads = op.p.threadgroup
			}
			err = checkDispatch(op.p, op.groups, threads, op.args)
		case cmdCopy:
			err = checkRange("copy source", op.src, op.srcOff, op.n)
			if err == nil {
				err = checkRange("copy destination", op.dst, op.dstOff, op.n)
			}
			if err == nil && op.src == op.dst && op.srcOff < op.dstOff+op.n && op.dstOff < op.srcOff+op.n {
				err = fmt.Errorf("metal: copy within one buffer: ranges [%d, %d) and [%d, %d) overlap",
					op.srcOff, op.srcOff+op.n, op.dstOff, op.dstOff+op.n)
			}
		case cmdFill:
			err = checkRange("fill", op.dst, op.dstOff, op.n)
		}
		if err != nil {
			return fmt.Errorf("command %d of %d: %w", i, len(c.ops), err)
		}
	}
	return nil
}

// checkRange checks a blit's buffer range: live buffer, in bounds, and
// offsets and length multiples of 4 bytes.
func checkRange(what string, b *Buffer, off, n int) error {
	switch {
	case b == nil || b.id == 0:
		return fmt.Errorf("metal: %s: nil or released buffer", what)
	case n <= 0:
		return fmt.Errorf("metal: %s: length %d must be positive", what, n)
	case off < 0 || off > b.Len()-n:
		return fmt.Errorf("metal: %s: [%d, %d) outside the %d-byte buffer", what, off, off+n, b.Len())
	case off%4 != 0 || n%4 != 0:
		return fmt.Errorf("metal: %s: offset %d and length %d must be multiples of 4", what, off, n)
	}
	return nil
}
