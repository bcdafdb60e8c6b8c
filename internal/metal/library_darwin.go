//go:build darwin

package metal

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// mathModeSafe is MTLMathModeSafe: no reassociation or fused contraction
// beyond the fma calls written in the source, so a kernel's arithmetic is
// what its comment (and its host mirror) says.
const mathModeSafe = 0

// NewLibrary compiles Metal Shading Language source (as LanguageVersion,
// safe math) into a library owned by the caller. A source that does not
// compile is an error carrying the compiler's text. Compiling cannot be
// interrupted: a cancelled ctx returns at once and the finished library is
// released in the background.
func (d *Device) NewLibrary(ctx context.Context, source string) (*Library, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("metal: compile library: %w", err)
	}
	if source == "" {
		return nil, errors.New("metal: compile library: empty source")
	}
	if strings.IndexByte(source, 0) >= 0 {
		return nil, errors.New("metal: compile library: source contains a NUL byte")
	}
	if ctx.Done() == nil {
		return compileLibrary(d.id, source)
	}
	type result struct {
		l   *Library
		err error
	}
	done := make(chan result, 1)
	dev := d.id
	_ = withPool(func() error { retain(dev); return nil }) // the compile may outlive a Release of d
	go func() {
		l, err := compileLibrary(dev, source)
		_ = withPool(func() error { release(dev); return nil })
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		return r.l, r.err
	case <-ctx.Done():
		go func() { (<-done).l.Release() }()
		return nil, fmt.Errorf("metal: compile library: %w", ctx.Err())
	}
}

// compileLibrary compiles on device dev; the NSString, the compile options
// and any NSError are released with the pool.
func compileLibrary(dev uintptr, source string) (*Library, error) {
	var l *Library
	err := withPool(func() error {
		src := nsString(source)
		if src == 0 {
			return errors.New("metal: compile library: source is not valid UTF-8")
		}
		opts := send(send(classOpts, sel.alloc), sel.init) // +1
		if opts == 0 {
			return errors.New("metal: compile library: could not make MTLCompileOptions")
		}
		defer release(opts)
		send1(opts, sel.setLanguageVersion, LanguageVersion)
		if sendBool1(opts, sel.respondsToSelector, sel.setMathMode) {
			send1(opts, sel.setMathMode, mathModeSafe)
		} else {
			send1(opts, sel.setFastMathEnabled, 0) // before macOS 15
		}
		var nsErr uintptr
		id := sendErr2(dev, sel.newLibraryWithSource, src, opts, &nsErr) // +1
		if id == 0 {
			text := nsErrorText(nsErr)
			if text == "" {
				text = "Metal gave no reason"
			}
			return fmt.Errorf("metal: compile library (MSL %d.%d): %s", LanguageVersion>>16, LanguageVersion&0xffff, text)
		}
		// On success Metal may still set the error: it then holds warnings.
		l = &Library{id: id, warnings: nsErrorText(nsErr)}
		return nil
	})
	return l, err
}

// Release drops the library. Pipelines built from it hold their own
// reference and stay usable.
func (l *Library) Release() {
	if l == nil || l.id == 0 {
		return
	}
	id := l.id
	l.id = 0
	_ = withPool(func() error { release(id); return nil })
}

// NewPipeline builds the compute pipeline of kernel function in l, owned
// by the caller. ctx is checked first; building itself is not
// interruptible (it takes milliseconds).
func (d *Device) NewPipeline(ctx context.Context, l *Library, function string) (*Pipeline, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if l == nil || l.id == 0 {
		return nil, fmt.Errorf("metal: pipeline %q: nil or released library", function)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("metal: pipeline %q: %w", function, err)
	}
	if function == "" || strings.IndexByte(function, 0) >= 0 {
		return nil, fmt.Errorf("metal: pipeline: invalid function name %q", function)
	}
	var p *Pipeline
	err := withPool(func() error {
		fn := send1(l.id, sel.newFunctionWithName, nsString(function)) // +1
		if fn == 0 {
			names := stringList(send(l.id, sel.functionNames))
			return fmt.Errorf("metal: pipeline: the library has no function %q (it has %s)", function, strings.Join(names, ", "))
		}
		var nsErr uintptr
		id := sendErr1(d.id, sel.newComputePipelineState, fn, &nsErr) // +1
		if id == 0 {
			release(fn)
			text := nsErrorText(nsErr)
			if text == "" {
				text = "Metal gave no reason"
			}
			return fmt.Errorf("metal: pipeline %q: %s", function, text)
		}
		p = &Pipeline{
			id:         id,
			fn:         fn,
			lib:        retain(l.id),
			name:       function,
			maxThreads: int(send(id, sel.maxTotalThreads)),
			simdWidth:  int(send(id, sel.threadExecutionWidth)),
		}
		return nil
	})
	return p, err
}

// Release frees the pipeline and drops its function and library.
func (p *Pipeline) Release() {
	if p == nil || p.id == 0 {
		return
	}
	id, fn, lib := p.id, p.fn, p.lib
	p.id, p.fn, p.lib = 0, 0, 0
	_ = withPool(func() error { release(id); release(fn); release(lib); return nil })
}
