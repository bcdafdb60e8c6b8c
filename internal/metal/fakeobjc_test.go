package metal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// fakeRuntime stands in for libobjc and Metal in the tests: the function
// variables of objc.go are bound to it instead of objc_msgSend, so every
// message the package sends is received here. It keeps Objective-C
// reference counts and autorelease pools, models the Metal objects the
// package uses closely enough to answer them, records every message, and
// reports what real Metal would punish: a message to a freed object, an
// over-release, an object never released, an encoder left open, a commit
// twice, a dispatch that leaves one of the kernel's [[buffer(n)]] unbound
// or exceeds the pipeline's threadgroup limit, a function constant of the
// wrong type. With exec set it also runs each dispatch through a Go
// function, so results can be checked end to end.
type fakeRuntime struct {
	t  *testing.T
	mu sync.Mutex

	objs    map[uintptr]*fakeObj
	next    uintptr
	sels    map[uintptr]string
	selIDs  map[string]uintptr
	classes map[string]uintptr
	// pools are the autorelease pool stacks, one per thread (goroutine:
	// withPool locks the goroutine to its thread for the pool's life);
	// a pool token is its depth there.
	pools map[uint64][][]uintptr

	log        []string // "kind selector args", in order
	violations []string

	// Knobs a test sets before use.
	noDevice       bool
	missingClass   string
	compileError   string         // newLibraryWithSource fails with this text
	compileWarning string         // it succeeds and sets this as the error
	noMathMode     bool           // options do not respond to setMathMode: (before macOS 15)
	maxThreads     int            // per pipeline (default 1024)
	staticTGMem    map[string]int // per function name
	gpuError       int            // MTLCommandBufferError code to fail with (0: complete)
	exec           map[string]fakeKernel
	gpuTimes       [2]float64
	deviceName     string
	mappings       map[uintptr][]byte // memory a test maps for NewBufferNoCopy, by address
	block          chan struct{}      // non-nil: waitUntilCompleted waits for it to close
	waiting        chan struct{}      // with block: receives when a host wait begins
}

// fakeKernel runs one dispatch on the host: buf[n] is the memory bound at
// [[buffer(n)]] from its offset (inline bytes included), consts the
// function constants the pipeline was built with.
type fakeKernel func(groups, threads Size, buf map[int][]byte, consts map[int]uint32)

type fakeObj struct {
	kind    string
	refs    int
	dead    bool
	str     string
	cstr    []byte
	mem     []byte
	noCopy  bool
	source  string            // library
	version uint64            // library: language version compiled as
	fnName  string            // function, pipeline
	consts  map[int]uint32    // constant values, function, pipeline
	ctypes  map[int]int       // constant values: MTLDataType by index
	items   []uintptr         // NSArray
	code    int               // NSError
	lib     uintptr           // function: its library
	opts    map[string]uint64 // compile options
	// command buffer
	committed, completed bool
	enc                  uintptr // open encoder
	held                 []uintptr
	ops                  []func()
	status               int
	// encoder
	cb         uintptr
	ended      bool
	dispatch   uint64
	pipeline   uintptr
	bound      map[int][]byte
	boundBufs  map[int]uintptr
	dispatches int
}

func installFake(t *testing.T) *fakeRuntime {
	t.Helper()
	f := &fakeRuntime{
		t: t, objs: map[uintptr]*fakeObj{}, next: 0x1000, sels: map[uintptr]string{}, selIDs: map[string]uintptr{},
		classes: map[string]uintptr{}, pools: map[uint64][][]uintptr{}, maxThreads: 1024, staticTGMem: map[string]int{}, exec: map[string]fakeKernel{},
		gpuTimes: [2]float64{100.0, 100.0025}, deviceName: "Fake M4 Max", mappings: map[uintptr][]byte{},
	}
	bindRuntime = f.bind
	loadOnce, loadErr = sync.Once{}, nil
	t.Cleanup(func() {
		bindRuntime = bindSystem
		loadOnce, loadErr = sync.Once{}, nil
		f.finish()
	})
	return f
}

// finish reports the violations seen and every object still alive.
func (f *fakeRuntime) finish() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		f.t.Errorf("fake Metal: %s", v)
	}
	for _, stack := range f.pools {
		if len(stack) != 0 {
			f.t.Errorf("fake Metal: %d autorelease pools never popped", len(stack))
		}
	}
	var leaks []string
	for id, o := range f.objs {
		if !o.dead && !strings.HasPrefix(o.kind, "class ") {
			leaks = append(leaks, fmt.Sprintf("%s %#x (%d refs)", o.kind, id, o.refs))
		}
	}
	slices.Sort(leaks)
	if len(leaks) > 0 && !f.t.Failed() {
		f.t.Errorf("fake Metal: objects never released: %s", strings.Join(leaks, ", "))
	}
}

func (f *fakeRuntime) violate(format string, args ...any) {
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

func (f *fakeRuntime) bind() error {
	createSystemDefaultDevice = func() uintptr {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.noDevice {
			return 0
		}
		return f.newObj("device", false)
	}
	autoreleasePoolPush = func() uintptr {
		f.mu.Lock()
		defer f.mu.Unlock()
		g := goid()
		f.pools[g] = append(f.pools[g], nil)
		return uintptr(len(f.pools[g]))
	}
	autoreleasePoolPop = func(pool uintptr) {
		f.mu.Lock()
		defer f.mu.Unlock()
		g := goid()
		stack := f.pools[g]
		if int(pool) != len(stack) {
			f.violate("autorelease pool %d popped while %d is the innermost on this thread", pool, len(stack))
			return
		}
		for _, id := range stack[len(stack)-1] {
			f.releaseLocked(id)
		}
		f.pools[g] = stack[:len(stack)-1]
	}
	selRegisterName = func(name string) uintptr {
		f.mu.Lock()
		defer f.mu.Unlock()
		if id, ok := f.selIDs[name]; ok {
			return id
		}
		id := uintptr(len(f.selIDs) + 1)
		f.selIDs[name], f.sels[id] = id, name
		return id
	}
	objcGetClass = func(name string) uintptr {
		f.mu.Lock()
		defer f.mu.Unlock()
		if name == f.missingClass {
			return 0
		}
		if id, ok := f.classes[name]; ok {
			return id
		}
		id := f.newObj("class "+name, false)
		f.objs[id].refs = math.MaxInt32
		f.classes[name] = id
		return id
	}
	sendBool = func(id, s uintptr) bool { return f.msg(id, s).(bool) }
	send = func(id, s uintptr) uintptr {
		if f.block != nil && f.sels[s] == "waitUntilCompleted" {
			select {
			case f.waiting <- struct{}{}: // tell the test the host waits
			default:
			}
			<-f.block // the GPU is busy until the test says otherwise
		}
		return f.msg(id, s).(uintptr)
	}
	sendPtr = func(id, s uintptr) unsafe.Pointer { return f.msg(id, s).(unsafe.Pointer) }
	sendU64 = func(id, s uintptr) uint64 { return f.msg(id, s).(uint64) }
	sendF64 = func(id, s uintptr) float64 { return f.msg(id, s).(float64) }
	send1 = func(id, s, a uintptr) uintptr { return f.msg(id, s, a).(uintptr) }
	sendBool1 = func(id, s, a uintptr) bool { return f.msg(id, s, a).(bool) }
	sendCStr = func(id, s uintptr, p *byte) uintptr { return f.msg(id, s, cString(p)).(uintptr) }
	send2 = func(id, s, a, b uintptr) uintptr { return f.msg(id, s, a, b).(uintptr) }
	send3 = func(id, s, a, b, c uintptr) uintptr { return f.msg(id, s, a, b, c).(uintptr) }
	send4 = func(id, s, a, b, c, d uintptr) uintptr { return f.msg(id, s, a, b, c, d).(uintptr) }
	send5 = func(id, s, a, b, c, d, e uintptr) uintptr { return f.msg(id, s, a, b, c, d, e).(uintptr) }
	sendErr1 = func(id, s, a uintptr, err *uintptr) uintptr { return f.msg(id, s, a, err).(uintptr) }
	sendErr2 = func(id, s, a, b uintptr, err *uintptr) uintptr { return f.msg(id, s, a, b, err).(uintptr) }
	sendBytes = func(id, s uintptr, p unsafe.Pointer, n, index uintptr) {
		f.msg(id, s, p, n, index)
	}
	sendGrid = func(id, s uintptr, groups, threads mtlSize) { f.msg(id, s, groups, threads) }
	sendRange = func(id, s, buf uintptr, r nsRange, value uintptr) { f.msg(id, s, buf, r, value) }
	return nil
}

func cString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// newObj makes an object with one reference, autoreleased when asked.
func (f *fakeRuntime) newObj(kind string, autoreleased bool) uintptr {
	f.next += 0x10
	id := f.next
	f.objs[id] = &fakeObj{kind: kind, refs: 1}
	if autoreleased {
		g := goid()
		if stack := f.pools[g]; len(stack) == 0 {
			f.violate("%s autoreleased with no pool in place on this thread (leaks in a real process)", kind)
		} else {
			stack[len(stack)-1] = append(stack[len(stack)-1], id)
		}
	}
	return id
}

func (f *fakeRuntime) newString(s string) uintptr {
	id := f.newObj("NSString", true)
	f.objs[id].str = s
	f.objs[id].cstr = append([]byte(s), 0)
	return id
}

func (f *fakeRuntime) newError(code int, text string) uintptr {
	id := f.newObj("NSError", true)
	f.objs[id].code = code
	f.objs[id].str = text
	return id
}

func (f *fakeRuntime) releaseLocked(id uintptr) {
	o := f.objs[id]
	if o == nil || o.dead {
		f.violate("release of a freed object %#x", id)
		return
	}
	o.refs--
	if o.refs == 0 {
		o.dead = true
		for _, h := range o.held {
			f.releaseLocked(h)
		}
		o.held = nil
	}
}

var (
	kernelDecl   = regexp.MustCompile(`kernel\s+void\s+(\w+)\s*\(`)
	bufferAttr   = regexp.MustCompile(`\[\[\s*buffer\((\d+)\)\s*\]\]`)
	functionCons = regexp.MustCompile(`constant\s+(\w+)\s+\w+\s*\[\[\s*function_constant\((\d+)\)\s*\]\]`)
)

// kernelBuffers lists the [[buffer(n)]] indices of function name's
// parameters in an MSL source.
func kernelBuffers(source, name string) []int {
	for _, m := range kernelDecl.FindAllStringSubmatchIndex(source, -1) {
		if source[m[2]:m[3]] != name {
			continue
		}
		depth, end := 1, m[1]
		for ; end < len(source) && depth > 0; end++ {
			switch source[end] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		var idx []int
		for _, b := range bufferAttr.FindAllStringSubmatch(source[m[1]:end], -1) {
			n, _ := strconv.Atoi(b[1])
			idx = append(idx, n)
		}
		return idx
	}
	return nil
}

// msl type of a function constant → MTLDataType.
var mslConstTypes = map[string]int{"uint": 33, "int": 29, "float": 3, "bool": 53}

func (f *fakeRuntime) msg(id, s uintptr, args ...any) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := f.sels[s]
	o := f.objs[id]
	if o == nil {
		f.violate("%s sent to unknown object %#x", name, id)
		return zeroResult(name)
	}
	if o.dead {
		f.violate("%s sent to freed %s %#x", name, o.kind, id)
		return zeroResult(name)
	}
	f.log = append(f.log, fmt.Sprintf("%s %s %v", o.kind, name, args))
	u := func(i int) uintptr { return args[i].(uintptr) }
	switch name {
	case "alloc":
		return f.newObj(strings.TrimPrefix(o.kind, "class "), false)
	case "init":
		return id
	case "retain":
		o.refs++
		return id
	case "release":
		f.releaseLocked(id)
		return uintptr(0)
	case "respondsToSelector:":
		return !(f.noMathMode && f.sels[u(0)] == "setMathMode:")
	case "stringWithUTF8String:":
		return f.newString(args[0].(string))
	case "UTF8String":
		return unsafe.Pointer(&o.cstr[0])
	case "localizedDescription":
		return f.newString(o.str)
	case "code":
		return uintptr(o.code)
	case "count":
		return uintptr(len(o.items))
	case "objectAtIndex:":
		return o.items[u(0)]
	case "name":
		return f.newString(f.deviceName)
	case "recommendedMaxWorkingSetSize":
		return uint64(48 << 30)
	case "maxBufferLength":
		return uintptr(32 << 30)
	case "maxThreadgroupMemoryLength":
		return uintptr(32 << 10)
	case "hasUnifiedMemory":
		return true
	case "newBufferWithLength:options:":
		b := f.newObj("buffer", false)
		f.objs[b].mem = make([]byte, u(0))
		for i := range f.objs[b].mem {
			f.objs[b].mem[i] = 0xa5 // Metal does not promise zeroed memory
		}
		return b
	case "newBufferWithBytesNoCopy:length:options:deallocator:":
		if u(3) != 0 {
			f.violate("no-copy buffer with a deallocator block")
		}
		mem, ok := f.mappings[u(0)]
		if !ok || uintptr(len(mem)) < u(1) {
			f.violate("no-copy buffer over %d bytes at %#x, which the test did not map", u(1), u(0))
			return uintptr(0)
		}
		b := f.newObj("buffer", false)
		f.objs[b].mem = mem[:u(1)]
		f.objs[b].noCopy = true
		return b
	case "contents":
		if len(o.mem) == 0 {
			return unsafe.Pointer(nil)
		}
		return unsafe.Pointer(&o.mem[0])
	case "length":
		return uintptr(len(o.mem))
	case "setLanguageVersion:", "setMathMode:", "setFastMathEnabled:":
		if o.opts == nil {
			o.opts = map[string]uint64{}
		}
		o.opts[name] = uint64(u(0))
		return uintptr(0)
	case "newLibraryWithSource:options:error:":
		src, opts, errp := f.objs[u(0)], f.objs[u(1)], args[2].(*uintptr)
		if opts.opts["setLanguageVersion:"] == 0 {
			f.violate("library compiled without an explicit language version")
		}
		mode, hasMode := opts.opts["setMathMode:"]
		fast, hasFast := opts.opts["setFastMathEnabled:"]
		if !(hasMode && mode == mathModeSafe) && !(hasFast && fast == 0) {
			f.violate("library compiled without safe math (setMathMode: %v/%d, setFastMathEnabled: %v/%d)", hasMode, mode, hasFast, fast)
		}
		if f.compileError != "" {
			*errp = f.newError(3, f.compileError)
			return uintptr(0)
		}
		if f.compileWarning != "" {
			*errp = f.newError(0, f.compileWarning)
		}
		l := f.newObj("library", false)
		f.objs[l].source = src.str
		f.objs[l].version = opts.opts["setLanguageVersion:"]
		return l
	case "newFunctionWithName:":
		fn := f.objs[u(0)].str
		if !slices.Contains(kernelNames(o.source), fn) {
			return uintptr(0)
		}
		h := f.newObj("function", false)
		f.objs[h].fnName, f.objs[h].lib, f.objs[h].source = fn, id, o.source
		return h
	case "functionNames":
		arr := f.newObj("NSArray", true)
		for _, n := range kernelNames(o.source) {
			f.objs[arr].items = append(f.objs[arr].items, f.newString(n))
		}
		return arr
	case "setConstantValue:type:atIndex:":
		if o.consts == nil {
			o.consts, o.ctypes = map[int]uint32{}, map[int]int{}
		}
		idx, typ := int(u(2)), int(u(1))
		p := args[0].(unsafe.Pointer)
		if typ == 53 {
			o.consts[idx] = uint32(*(*byte)(p))
		} else {
			o.consts[idx] = *(*uint32)(p)
		}
		o.ctypes[idx] = typ
		return nil
	case "newFunctionWithName:constantValues:error:":
		fn, vals, errp := f.objs[u(0)].str, f.objs[u(1)], args[2].(*uintptr)
		if !slices.Contains(kernelNames(o.source), fn) {
			return uintptr(0)
		}
		for _, m := range functionCons.FindAllStringSubmatch(o.source, -1) {
			n, _ := strconv.Atoi(m[2])
			if typ, ok := vals.ctypes[n]; ok && typ != mslConstTypes[m[1]] {
				*errp = f.newError(1, fmt.Sprintf("function constant %d is %s, given MTLDataType %d", n, m[1], typ))
				return uintptr(0)
			}
		}
		h := f.newObj("function", false)
		f.objs[h].fnName, f.objs[h].lib, f.objs[h].source = fn, id, o.source
		f.objs[h].consts = cloneConsts(vals.consts)
		return h
	case "newComputePipelineStateWithFunction:error:":
		fn := f.objs[u(0)]
		p := f.newObj("pipeline", false)
		consts := sourceDefines(fn.source) // specialization by #define
		for k, v := range fn.consts {
			consts[k] = v
		}
		f.objs[p].fnName, f.objs[p].source, f.objs[p].consts = fn.fnName, fn.source, consts
		return p
	case "maxTotalThreadsPerThreadgroup":
		return uintptr(f.maxThreads)
	case "threadExecutionWidth":
		return uintptr(32)
	case "staticThreadgroupMemoryLength":
		return uintptr(f.staticTGMem[o.fnName])
	case "newCommandQueue":
		return f.newObj("queue", false)
	case "commandBuffer":
		return f.newObj("commandBuffer", true)
	case "computeCommandEncoderWithDispatchType:", "blitCommandEncoder":
		if o.enc != 0 {
			f.violate("a new encoder while the previous one is still open")
		}
		kind := "blitEncoder"
		if name != "blitCommandEncoder" {
			kind = "computeEncoder"
		}
		e := f.newObj(kind, true)
		f.objs[e].cb = id
		if kind == "computeEncoder" {
			f.objs[e].dispatch = uint64(u(0))
		}
		o.enc = e
		return e
	case "setComputePipelineState:":
		o.pipeline = u(0)
		o.bound, o.boundBufs = map[int][]byte{}, map[int]uintptr{}
		return uintptr(0)
	case "setBuffer:offset:atIndex:":
		b := f.objs[u(0)]
		if o.bound == nil {
			o.bound, o.boundBufs = map[int][]byte{}, map[int]uintptr{}
		}
		o.bound[int(u(2))] = b.mem[u(1):]
		o.boundBufs[int(u(2))] = u(0)
		return uintptr(0)
	case "setBytes:length:atIndex:":
		if o.bound == nil {
			o.bound, o.boundBufs = map[int][]byte{}, map[int]uintptr{}
		}
		o.bound[int(u(2))] = slices.Clone(unsafe.Slice((*byte)(args[0].(unsafe.Pointer)), u(1)))
		delete(o.boundBufs, int(u(2)))
		return nil
	case "dispatchThreadgroups:threadsPerThreadgroup:":
		f.dispatchLocked(o, args[0].(mtlSize), args[1].(mtlSize))
		return nil
	case "memoryBarrierWithScope:":
		if o.dispatch != dispatchConcurrent {
			f.violate("memory barrier in a serial encoder")
		}
		return uintptr(0)
	case "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:":
		src, dst := f.objs[u(0)], f.objs[u(2)]
		so, do, n := u(1), u(3), u(4)
		cb := f.objs[o.cb]
		cb.held = append(cb.held, f.retainLocked(u(0)), f.retainLocked(u(2)))
		cb.ops = append(cb.ops, func() { copy(dst.mem[do:do+n], src.mem[so:so+n]) })
		return uintptr(0)
	case "fillBuffer:range:value:":
		dst, r, v := f.objs[u(0)], args[1].(nsRange), byte(u(2))
		cb := f.objs[o.cb]
		cb.held = append(cb.held, f.retainLocked(u(0)))
		cb.ops = append(cb.ops, func() {
			for i := r.location; i < r.location+r.length; i++ {
				dst.mem[i] = v
			}
		})
		return uintptr(0)
	case "endEncoding":
		if o.ended {
			f.violate("endEncoding twice")
		}
		o.ended = true
		f.objs[o.cb].enc = 0
		return uintptr(0)
	case "commit":
		if o.committed {
			f.violate("command buffer committed twice")
		}
		if o.enc != 0 {
			f.violate("commit with an encoder still open")
		}
		o.committed = true
		return uintptr(0)
	case "waitUntilCompleted":
		if !o.committed {
			f.violate("waitUntilCompleted on an uncommitted command buffer (blocks forever)")
		}
		if !o.completed {
			o.completed = true
			o.status = statusCompleted
			if f.gpuError != 0 {
				o.status = statusError
			} else {
				for _, op := range o.ops {
					op()
				}
			}
			for _, h := range o.held { // Metal drops its references on completion
				f.releaseLocked(h)
			}
			o.held, o.ops = nil, nil
		}
		return uintptr(0)
	case "status":
		return uintptr(o.status)
	case "error":
		if o.status != statusError {
			return uintptr(0)
		}
		return f.newError(f.gpuError, "Caused GPU Address Fault Error (0000000b:kIOGPUCommandBufferCallbackErrorPageFault)")
	case "GPUStartTime":
		return f.gpuTimes[0]
	case "GPUEndTime":
		return f.gpuTimes[1]
	}
	f.violate("unexpected message %s to %s", name, o.kind)
	return zeroResult(name)
}

func (f *fakeRuntime) retainLocked(id uintptr) uintptr {
	f.objs[id].refs++
	return id
}

func cloneConsts(m map[int]uint32) map[int]uint32 {
	out := map[int]uint32{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// dispatchLocked checks a dispatch as Metal's validation layer would and
// queues its execution.
func (f *fakeRuntime) dispatchLocked(enc *fakeObj, groups, threads mtlSize) {
	p := f.objs[enc.pipeline]
	if p == nil {
		f.violate("dispatch with no pipeline set")
		return
	}
	enc.dispatches++
	if n := threads.width * threads.height * threads.depth; n > uint64(f.maxThreads) {
		f.violate("dispatch %s: %d threads per threadgroup, the pipeline allows %d", p.fnName, n, f.maxThreads)
	}
	for _, idx := range kernelBuffers(p.source, p.fnName) {
		if _, ok := enc.bound[idx]; !ok {
			f.violate("dispatch %s: [[buffer(%d)]] not bound", p.fnName, idx)
		}
	}
	k := f.exec[p.fnName]
	if k == nil {
		return
	}
	cb := f.objs[enc.cb]
	bound := map[int][]byte{}
	for i, m := range enc.bound {
		bound[i] = m
	}
	for _, b := range enc.boundBufs {
		cb.held = append(cb.held, f.retainLocked(b))
	}
	g := Size{int(groups.width), int(groups.height), int(groups.depth)}
	th := Size{int(threads.width), int(threads.height), int(threads.depth)}
	consts := p.consts
	cb.ops = append(cb.ops, func() { k(g, th, bound, consts) })
}

func kernelNames(source string) []string {
	var out []string
	for _, m := range kernelDecl.FindAllStringSubmatch(source, -1) {
		out = append(out, m[1])
	}
	return out
}

func zeroResult(sel string) any {
	switch sel {
	case "UTF8String", "contents":
		return unsafe.Pointer(nil)
	case "recommendedMaxWorkingSetSize":
		return uint64(0)
	case "GPUStartTime", "GPUEndTime":
		return float64(0)
	case "respondsToSelector:", "hasUnifiedMemory":
		return false
	}
	return uintptr(0)
}

// messages returns the logged messages whose text starts with one of
// prefixes (all when none).
func (f *fakeRuntime) messages(prefixes ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if len(prefixes) == 0 || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(l, p) }) {
			out = append(out, l)
		}
	}
	return out
}

// le32 reads a little-endian uint32 at byte offset i of b.
func le32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }

// mapping registers mem as memory NewBufferNoCopy may wrap (the fake
// cannot turn an address back into a slice).
func (f *fakeRuntime) mapping(mem []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mappings[uintptr(unsafe.Pointer(unsafe.SliceData(mem)))] = mem
}

// goid is the calling goroutine's id, from its stack header ("goroutine N
// [running]:"): the fake's stand-in for the thread an autorelease pool
// belongs to.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	n, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return n
}

var specDefine = regexp.MustCompile(`(?m)^#define SPIRV_CROSS_CONSTANT_ID_(\d+) (\d+)u?$`)

// sourceDefines reads the specialization a source was compiled with from
// its leading #define SPIRV_CROSS_CONSTANT_ID_n lines, for the fake GPU's
// kernels (in consts, as function constants are).
func sourceDefines(source string) map[int]uint32 {
	out := map[int]uint32{}
	for _, m := range specDefine.FindAllStringSubmatch(source, -1) {
		id, _ := strconv.Atoi(m[1])
		v, _ := strconv.ParseUint(m[2], 10, 32)
		out[id] = uint32(v)
	}
	return out
}
