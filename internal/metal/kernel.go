package metal

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/vlmrt/vlmrt/internal/metal/mslbind"
)

// KernelSource is one compute kernel in the two forms the shader build
// produces: the SPIR-V Vulkan runs and the MSL spirv-cross made of it.
type KernelSource struct {
	Name  string // for errors: the kernel's name in the engine
	SPIRV []byte
	MSL   string
	// Version is the MSL language version to compile as: at least the one
	// spirv-cross was asked to target (--msl-version). Zero means
	// LanguageVersion.
	Version MSLVersion
}

// Kernel is a compiled kernel with the map from its Vulkan bindings to
// its MSL arguments (mslbind.Bind), ready to record dispatches with the
// same arguments a Vulkan dispatch of the SPIR-V takes.
type Kernel struct {
	name        string
	pipe        *Pipeline
	bind        *mslbind.Binding
	threadgroup Size
}

// NewKernel compiles src's MSL specialized with spec (SpecId → value bits,
// as Vulkan's specialization info holds them; a missing SpecId keeps the
// SPIR-V default): constants spirv-cross made function constants go to the
// pipeline, those it made macros (array sizes) are defined before the
// source is compiled, and the threadgroup size is the SPIR-V's local size
// with its specialized dimensions. The pipeline's threadgroup memory is
// checked to hold what the SPIR-V declares.
func (d *Device) NewKernel(ctx context.Context, src KernelSource, spec map[int]uint32) (*Kernel, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	mod, err := mslbind.ParseSPIRV(src.SPIRV)
	if err != nil {
		return nil, fmt.Errorf("metal: kernel %s: %w", src.Name, err)
	}
	fns, err := mslbind.ParseMSL(src.MSL)
	if err != nil {
		return nil, fmt.Errorf("metal: kernel %s: %w", src.Name, err)
	}
	b, err := mslbind.Bind(mod, fns)
	if err != nil {
		return nil, fmt.Errorf("metal: kernel %s: %w", src.Name, err)
	}
	if limit := d.MaxThreadgroupMemoryLength(); limit > 0 && b.WorkgroupBytes > limit {
		return nil, fmt.Errorf("metal: kernel %s declares %d bytes of shared memory, %s allows %d per threadgroup",
			src.Name, b.WorkgroupBytes, d.name, limit)
	}
	known := map[int]bool{}
	for _, s := range mod.SpecConstants {
		known[s.SpecID] = true
	}
	for id := range spec {
		if !known[id] {
			return nil, fmt.Errorf("metal: kernel %s: specialization constant %d is not declared by the kernel", src.Name, id)
		}
	}
	var opts PipelineOptions
	for _, s := range b.FunctionConstants {
		if v, ok := spec[s.SpecID]; ok {
			opts.Constants = append(opts.Constants, Constant{Index: s.SpecID, Type: constantType(s.Type), Value: v})
		}
	}
	tg := b.Threadgroup
	for i, id := range b.ThreadgroupSpecID {
		if v, ok := spec[id]; ok && id >= 0 {
			tg[i] = v
		}
	}
	opts.Threadgroup = Size{int(tg[0]), int(tg[1]), int(tg[2])}
	version := src.Version
	if version == 0 {
		version = LanguageVersion
	}
	lib, err := d.cachedLibrary(ctx, b.WithMacros(src.MSL, spec), version)
	if err != nil {
		return nil, fmt.Errorf("metal: kernel %s: %w", src.Name, err)
	}
	p, err := d.NewPipelineWith(ctx, lib, b.Function, opts)
	if err != nil {
		return nil, fmt.Errorf("metal: kernel %s: %w", src.Name, err)
	}
	// Shared memory sized by macros changes with the specialization; the
	// SPIR-V count holds for the defaults.
	if len(b.Macros) == 0 && p.StaticThreadgroupMemoryLength() < b.WorkgroupBytes {
		p.Release()
		return nil, fmt.Errorf("metal: kernel %s: the pipeline has %d bytes of threadgroup memory, the SPIR-V declares %d",
			src.Name, p.StaticThreadgroupMemoryLength(), b.WorkgroupBytes)
	}
	return &Kernel{name: src.Name, pipe: p, bind: b, threadgroup: opts.Threadgroup}, nil
}

// cachedLibrary compiles source once per device (Device.libs); the
// device owns the library and releases it with itself. Different sources
// compile concurrently; callers of the same source wait for the one
// compile, and a failed compile is not kept (the next call tries again).
func (d *Device) cachedLibrary(ctx context.Context, source string, v MSLVersion) (*Library, error) {
	key := libraryKey{source, v}
	for {
		d.libMu.Lock()
		if d.libs == nil {
			d.libs = map[libraryKey]*libraryEntry{}
		}
		e := d.libs[key]
		if e == nil {
			e = &libraryEntry{done: make(chan struct{})}
			d.libs[key] = e
			d.libMu.Unlock()
			e.lib, e.err = d.NewLibraryVersion(ctx, source, v)
			if e.err != nil {
				d.libMu.Lock()
				delete(d.libs, key)
				d.libMu.Unlock()
			}
			close(e.done)
			return e.lib, e.err
		}
		d.libMu.Unlock()
		select {
		case <-e.done:
			if e.err == nil {
				return e.lib, nil
			}
			// That compile failed (perhaps its caller's context ended): try again.
		case <-ctx.Done():
			return nil, fmt.Errorf("metal: compile library: %w", ctx.Err())
		}
	}
}

func constantType(t mslbind.ScalarType) ConstantType {
	switch t {
	case mslbind.Int32:
		return ConstInt32
	case mslbind.Float32:
		return ConstFloat32
	case mslbind.Bool:
		return ConstBool
	}
	return ConstUint32
}

// Name is the kernel's name in the engine.
func (k *Kernel) Name() string { return k.name }

// Threadgroup is the size every dispatch of the kernel uses.
func (k *Kernel) Threadgroup() Size { return k.threadgroup }

// Pipeline is the compiled pipeline (for its properties).
func (k *Kernel) Pipeline() *Pipeline { return k.pipe }

// Binding is how the kernel's Vulkan arguments map onto its MSL ones.
func (k *Kernel) Binding() *mslbind.Binding { return k.bind }

// Release frees the pipeline.
func (k *Kernel) Release() {
	if k != nil {
		k.pipe.Release()
	}
}

// BufferBinding is one descriptor of a dispatch: the buffer bound at
// (Set, Binding), from Offset.
type BufferBinding struct {
	Set, Binding int
	Buffer       *Buffer
	Offset       int
}

// DispatchKernel records k over groups threadgroups with the arguments a
// Vulkan dispatch of the same SPIR-V takes: its descriptors and its
// push-constant bytes. Descriptors the kernel does not use are ignored;
// one it uses and is not given is an error, as is a push-constant block
// shorter than the kernel's. When the kernel reads a runtime array's
// length, the buffer sizes spirv-cross asks for are supplied.
func (c *Commands) DispatchKernel(k *Kernel, groups Size, bufs []BufferBinding, push []byte) error {
	if k == nil || k.pipe == nil {
		return fmt.Errorf("metal: dispatch: nil kernel")
	}
	b := k.bind
	var args []Arg
	bound := map[int]int{} // [[buffer(n)]] → bytes bound there
	given := map[[2]int]bool{}
	for _, bb := range bufs {
		key := [2]int{bb.Set, bb.Binding}
		if given[key] {
			return fmt.Errorf("metal: dispatch %s: set %d binding %d given twice", k.name, bb.Set, bb.Binding)
		}
		given[key] = true
		idx, used := b.Buffers[key]
		if !used {
			continue
		}
		if bb.Buffer == nil {
			return fmt.Errorf("metal: dispatch %s: nil buffer at set %d binding %d", k.name, bb.Set, bb.Binding)
		}
		args = append(args, Arg{Index: idx, Buffer: bb.Buffer, Offset: bb.Offset})
		bound[idx] = bb.Buffer.Len() - bb.Offset
	}
	for key := range b.Buffers {
		if !given[key] {
			return fmt.Errorf("metal: dispatch %s: no buffer for set %d binding %d, which the kernel uses", k.name, key[0], key[1])
		}
	}
	if b.PushConstants >= 0 {
		if len(push) < b.PushConstantBytes {
			return fmt.Errorf("metal: dispatch %s: %d bytes of push constants, the kernel reads %d", k.name, len(push), b.PushConstantBytes)
		}
		args = append(args, BytesArg(b.PushConstants, push))
	}
	if b.BufferSizes >= 0 {
		top := 0
		for idx := range bound {
			top = max(top, idx+1)
		}
		sizes := make([]byte, 4*max(top, 1))
		for idx, n := range bound {
			binary.LittleEndian.PutUint32(sizes[4*idx:], uint32(n))
		}
		args = append(args, BytesArg(b.BufferSizes, sizes))
	}
	slices.SortFunc(args, func(a, b Arg) int { return a.Index - b.Index })
	c.Dispatch(k.pipe, groups, k.threadgroup, args...)
	return nil
}
