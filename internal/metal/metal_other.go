//go:build !darwin

package metal

import (
	"context"
	"fmt"
	"runtime"
)

// Off darwin there is no Metal: every entry point reports ErrUnavailable
// (so callers compile and fall back at run time) and Release does nothing.

func unavailable(what string) error {
	return fmt.Errorf("%w: %s: Metal exists only on darwin, this is %s/%s", ErrUnavailable, what, runtime.GOOS, runtime.GOARCH)
}

// Open returns the system's default Metal device.
func Open() (*Device, error) { return nil, unavailable("open device") }

func (d *Device) ready() error { return unavailable("device") }

// Release drops the device.
func (d *Device) Release() {}

func (d *Device) newBuffer(size int, zero bool) (*Buffer, error) {
	return nil, unavailable("new buffer")
}

// Release frees the buffer; its Contents are invalid afterwards.
func (b *Buffer) Release() {}

// NewLibrary compiles Metal Shading Language source.
func (d *Device) NewLibrary(ctx context.Context, source string) (*Library, error) {
	return nil, unavailable("new library")
}

// Release frees the library.
func (l *Library) Release() {}

// NewPipeline builds the compute pipeline of one kernel function of l.
func (d *Device) NewPipeline(ctx context.Context, l *Library, function string) (*Pipeline, error) {
	return nil, unavailable("new pipeline")
}

// Release frees the pipeline.
func (p *Pipeline) Release() {}

// NewCommandQueue makes a queue to dispatch work on.
func (d *Device) NewCommandQueue() (*CommandQueue, error) {
	return nil, unavailable("new command queue")
}

func (q *CommandQueue) ready() error { return unavailable("command queue") }

// Release frees the queue.
func (q *CommandQueue) Release() {}

// Dispatch runs one compute dispatch and waits for it.
func (q *CommandQueue) Dispatch(ctx context.Context, p *Pipeline, groups, threads Size, args ...Arg) error {
	return unavailable("dispatch")
}
