package metal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// mathModeSafe is MTLMathModeSafe: no reassociation or fused contraction
// beyond the fma calls written in the source, so a kernel's arithmetic is
// what its comment (and its host mirror) says.
const mathModeSafe = 0

// NewLibrary compiles Metal Shading Language source as LanguageVersion;
// see NewLibraryVersion.
func (d *Device) NewLibrary(ctx context.Context, source string) (*Library, error) {
	return d.NewLibraryVersion(ctx, source, LanguageVersion)
}

// NewLibraryVersion compiles Metal Shading Language source as language
// version v, in safe math mode, into a library owned by the caller. The
// version is always set: left unset, Metal takes the default from the SDK
// the binary was linked against, which a cgo-free Go binary does not
// record, and compiles as MSL 2.4. A source that does not compile is an
// error carrying the compiler's text. Compiling cannot be interrupted: a
// cancelled ctx returns at once and the finished library is released in
// the background.
func (d *Device) NewLibraryVersion(ctx context.Context, source string, v MSLVersion) (*Library, error) {
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
	if !v.valid() {
		return nil, fmt.Errorf("metal: compile library: unsupported language version %v (want %v to %v)", v, MSL2_4, MSL3_2)
	}
	if ctx.Done() == nil {
		return compileLibrary(d.id, source, v)
	}
	type result struct {
		l   *Library
		err error
	}
	done := make(chan result, 1)
	dev := d.id
	_ = withPool(func() error { retain(dev); return nil }) // the compile may outlive a Release of d
	go func() {
		l, err := compileLibrary(dev, source, v)
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
func compileLibrary(dev uintptr, source string, v MSLVersion) (*Library, error) {
	var l *Library
	err := withPool(func() error {
		src := nsString(source)
		if src == 0 {
			return errors.New("metal: compile library: source is not valid UTF-8")
		}
		opts := send(send(classCompileOptions, sel.alloc), sel.init) // +1
		if opts == 0 {
			return errors.New("metal: compile library: could not make MTLCompileOptions")
		}
		defer release(opts)
		send1(opts, sel.setLanguageVersion, uintptr(v))
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
			return fmt.Errorf("metal: compile library (MSL %v): %s", v, text)
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

// NewPipeline builds the compute pipeline of kernel function in l with
// no function constants and the threadgroup size given at each dispatch;
// see NewPipelineWith.
func (d *Device) NewPipeline(ctx context.Context, l *Library, function string) (*Pipeline, error) {
	return d.NewPipelineWith(ctx, l, function, PipelineOptions{})
}

// NewPipelineWith builds the compute pipeline of kernel function in l,
// owned by the caller: the function specialized with opts.Constants (each
// a [[function_constant(index)]] of the source, which is how spirv-cross
// writes a SPIR-V specialization constant), and, when opts.Threadgroup is
// set, checked to run that many threads per threadgroup. ctx is checked
// first; building itself is not interruptible (it takes milliseconds).
func (d *Device) NewPipelineWith(ctx context.Context, l *Library, function string, opts PipelineOptions) (*Pipeline, error) {
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
	if err := checkPipelineOptions(function, opts); err != nil {
		return nil, err
	}
	var p *Pipeline
	err := withPool(func() error {
		fn, err := newFunction(l.id, function, opts.Constants) // +1
		if err != nil {
			return err
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
			id:          id,
			fn:          fn,
			lib:         retain(l.id),
			name:        function,
			maxThreads:  int(send(id, sel.maxTotalThreads)),
			simdWidth:   int(send(id, sel.threadExecutionWidth)),
			staticTGMem: int(send(id, sel.staticThreadgroupMemoryLength)),
			threadgroup: opts.Threadgroup,
		}
		if n := opts.Threadgroup.count(); n > p.maxThreads {
			limit := p.maxThreads
			release(p.id)
			release(p.fn)
			release(p.lib)
			p = nil
			return fmt.Errorf("metal: pipeline %q: a threadgroup of %v (%d threads) exceeds the %d this pipeline allows on this device",
				function, opts.Threadgroup, n, limit)
		}
		return nil
	})
	return p, err
}

// newFunction makes kernel function name of library lib (+1), specialized
// with consts when there are any. Errors name the function and list what
// the library has.
func newFunction(lib uintptr, name string, consts []Constant) (uintptr, error) {
	if len(consts) == 0 {
		if fn := send1(lib, sel.newFunctionWithName, nsString(name)); fn != 0 {
			return fn, nil
		}
		names := stringList(send(lib, sel.functionNames))
		return 0, fmt.Errorf("metal: pipeline: the library has no function %q (it has %s)", name, strings.Join(names, ", "))
	}
	values := send(send(classFunctionConstantValues, sel.alloc), sel.init) // +1
	if values == 0 {
		return 0, fmt.Errorf("metal: pipeline %q: could not make MTLFunctionConstantValues", name)
	}
	defer release(values)
	for _, c := range consts {
		v := c.Value // setConstantValue copies the value
		sendBytes(values, sel.setConstantValue, unsafe.Pointer(&v), uintptr(c.Type.mtlDataType()), uintptr(c.Index))
	}
	var nsErr uintptr
	fn := sendErr2(lib, sel.newFunctionWithConstants, nsString(name), values, &nsErr)
	if fn == 0 {
		text := nsErrorText(nsErr)
		if text == "" {
			names := stringList(send(lib, sel.functionNames))
			text = fmt.Sprintf("the library has no such function (it has %s)", strings.Join(names, ", "))
		}
		return 0, fmt.Errorf("metal: pipeline %q with function constants %v: %s", name, consts, text)
	}
	return fn, nil
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
