// Package mslbind connects a SPIR-V compute kernel to the Metal Shading
// Language that spirv-cross translated it into, so that a Metal device can
// run the kernel with the bindings, constants and threadgroup size its
// Vulkan twin is given.
//
// spirv-cross does not keep Vulkan's binding numbers: by default it
// numbers the [[buffer(n)]] arguments of the MSL kernel in the order of
// the resources' SPIR-V ids (push constants, uniform and storage buffers
// alike), so binding 2 may well become buffer(1). A specialization
// constant with SpecId n becomes [[function_constant(n)]] — unless the
// kernel uses it as an array size, in which case it becomes a
// preprocessor macro, SPIRV_CROSS_CONSTANT_ID_n, fixed when the MSL is
// compiled. A shader that calls .length() on a runtime array gets an extra
// argument, spvBufferSizeConstants, which the host must fill with buffer
// sizes. Rather than assume any of that, this package reads both sides —
// the SPIR-V module (ParseSPIRV) and the MSL kernel's signature (ParseMSL)
// — and derives the map (Bind); the tests check it on the real output of
// the tools.
package mslbind

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// StorageClass is a SPIR-V storage class of a kernel resource.
type StorageClass uint32

// The storage classes a compute kernel's resources use.
const (
	Uniform       StorageClass = 2  // a uniform buffer (UBO)
	Workgroup     StorageClass = 4  // shared memory
	PushConstant  StorageClass = 9  // push constants
	StorageBuffer StorageClass = 12 // a storage buffer (SSBO)
)

func (c StorageClass) String() string {
	switch c {
	case Uniform:
		return "uniform buffer"
	case Workgroup:
		return "workgroup"
	case PushConstant:
		return "push constants"
	case StorageBuffer:
		return "storage buffer"
	}
	return fmt.Sprintf("storage class %d", uint32(c))
}

// Resource is one buffer a kernel reads or writes: a storage or uniform
// buffer at (Set, Binding), or the push-constant block.
type Resource struct {
	ID       uint32 // the variable's SPIR-V id
	Name     string // the variable's OpName ("" when unnamed)
	TypeID   uint32 // the block type's SPIR-V id
	TypeName string // the block type's OpName
	Class    StorageClass
	Set      int // descriptor set (-1 for push constants)
	Binding  int // binding (-1 for push constants)
	Size     int // push constants and uniform blocks: the block's size in bytes; storage buffers: the fixed part
}

// ScalarType is the type of a specialization constant.
type ScalarType uint8

const (
	Uint32 ScalarType = iota + 1
	Int32
	Float32
	Bool
)

func (t ScalarType) String() string {
	switch t {
	case Uint32:
		return "uint"
	case Int32:
		return "int"
	case Float32:
		return "float"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("ScalarType(%d)", uint8(t))
}

// SpecConstant is one specialization constant: SpecId, type and default
// value bits (a float's math.Float32bits, a bool 0 or 1).
type SpecConstant struct {
	ID      uint32 // the constant's SPIR-V id
	SpecID  int
	Name    string
	Type    ScalarType
	Default uint32
}

// Module is what a Metal device needs to know about a SPIR-V compute
// kernel.
type Module struct {
	Entry     string // the GLCompute entry point's name in the SPIR-V
	LocalSize [3]uint32
	// LocalSizeSpecID[i] is the SpecId giving LocalSize[i], or -1 when
	// LocalSize[i] is a literal (LocalSize holds the default then).
	LocalSizeSpecID [3]int
	Resources       []Resource // in id order, only those the entry point uses
	SpecConstants   []SpecConstant
	// WorkgroupBytes is the shared memory the kernel declares, with
	// specialization constants at their defaults (its arrays' element
	// sizes and lengths, without any padding a compiler may add).
	WorkgroupBytes int
}

// Resource returns the resource at (set, binding).
func (m *Module) Resource(set, binding int) (Resource, bool) {
	for _, r := range m.Resources {
		if r.Class != PushConstant && r.Set == set && r.Binding == binding {
			return r, true
		}
	}
	return Resource{}, false
}

// SPIR-V opcodes, decorations and enumerants this parser reads.
const (
	opName              = 5
	opEntryPoint        = 15
	opExecutionMode     = 16
	opTypeBool          = 20
	opTypeInt           = 21
	opTypeFloat         = 22
	opTypeVector        = 23
	opTypeMatrix        = 24
	opTypeArray         = 28
	opTypeRuntimeArray  = 29
	opTypeStruct        = 30
	opTypePointer       = 32
	opConstantTrue      = 41
	opConstantFalse     = 42
	opConstant          = 43
	opConstantComposite = 44
	opSpecConstantTrue  = 48
	opSpecConstantFalse = 49
	opSpecConstant      = 50
	opSpecConstantComp  = 51
	opSpecConstantOp    = 52
	opVariable          = 59
	opDecorate          = 71
	opMemberDecorate    = 72
	opExecutionModeId   = 331

	decSpecID        = 1
	decArrayStride   = 6
	decBuiltIn       = 11
	decBinding       = 33
	decDescriptorSet = 34
	decOffset        = 35

	builtInWorkgroupSize = 25
	modelGLCompute       = 5
	modeLocalSize        = 17
	modeLocalSizeID      = 38

	spirvMagic = 0x07230203
)

// spvType is a parsed type declaration.
type spvType struct {
	op      uint32
	width   uint32   // int, float
	signed  bool     // int
	elem    uint32   // vector, matrix, array, runtime array, pointer: the element (pointee) type
	count   uint32   // vector and matrix: components; array: the length's constant id
	members []uint32 // struct
	class   uint32   // pointer
}

// spvConst is a scalar constant (or the default of a spec constant).
type spvConst struct {
	typ  uint32
	bits uint32
	spec bool
	op   uint32   // OpSpecConstantOp: the operation
	args []uint32 // OpSpecConstantOp's operands; OpConstantComposite's constituents
}

// ParseSPIRV reads a SPIR-V module holding one GLCompute entry point.
func ParseSPIRV(code []byte) (*Module, error) {
	if len(code)%4 != 0 || len(code) < 20 {
		return nil, fmt.Errorf("spirv: %d bytes is not a SPIR-V module", len(code))
	}
	words := make([]uint32, len(code)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	if words[0] != spirvMagic {
		return nil, fmt.Errorf("spirv: bad magic %#x (not little-endian SPIR-V)", words[0])
	}
	var (
		names      = map[uint32]string{}
		types      = map[uint32]*spvType{}
		consts     = map[uint32]*spvConst{}
		decor      = map[uint32]map[uint32]uint32{} // id → decoration → first literal
		offsets    = map[uint32]map[uint32]uint32{} // struct → member → Offset
		strides    = map[uint32]uint32{}
		vars       []struct{ id, typ, class uint32 }
		entryID    uint32
		entryFound bool
		interfaceV = map[uint32]bool{}
		m          = &Module{LocalSizeSpecID: [3]int{-1, -1, -1}}
		sizeIDs    [3]uint32
		hasSizeIDs bool
	)
	for i := 5; i < len(words); {
		n := int(words[i] >> 16)
		op := words[i] & 0xffff
		if n == 0 || i+n > len(words) {
			return nil, fmt.Errorf("spirv: truncated instruction at word %d", i)
		}
		ins := words[i+1 : i+n]
		i += n
		arg := func(k int) uint32 {
			if k < len(ins) {
				return ins[k]
			}
			return 0
		}
		switch op {
		case opName:
			names[arg(0)] = literalString(ins[1:])
		case opEntryPoint:
			if arg(0) != modelGLCompute {
				continue
			}
			if entryFound {
				return nil, errors.New("spirv: more than one GLCompute entry point")
			}
			entryFound = true
			entryID = arg(1)
			m.Entry = literalString(ins[2:])
			for _, id := range ins[2+(len(m.Entry)+4)/4:] {
				interfaceV[id] = true
			}
		case opExecutionMode:
			if arg(0) == entryID && arg(1) == modeLocalSize {
				m.LocalSize = [3]uint32{arg(2), arg(3), arg(4)}
			}
		case opExecutionModeId:
			if arg(0) == entryID && arg(1) == modeLocalSizeID {
				sizeIDs, hasSizeIDs = [3]uint32{arg(2), arg(3), arg(4)}, true
			}
		case opDecorate:
			if decor[arg(0)] == nil {
				decor[arg(0)] = map[uint32]uint32{}
			}
			decor[arg(0)][arg(1)] = arg(2)
			if arg(1) == decArrayStride {
				strides[arg(0)] = arg(2)
			}
		case opMemberDecorate:
			if arg(2) == decOffset {
				if offsets[arg(0)] == nil {
					offsets[arg(0)] = map[uint32]uint32{}
				}
				offsets[arg(0)][arg(1)] = arg(3)
			}
		case opTypeBool:
			types[arg(0)] = &spvType{op: op}
		case opTypeInt:
			types[arg(0)] = &spvType{op: op, width: arg(1), signed: arg(2) == 1}
		case opTypeFloat:
			types[arg(0)] = &spvType{op: op, width: arg(1)}
		case opTypeVector, opTypeMatrix, opTypeArray:
			types[arg(0)] = &spvType{op: op, elem: arg(1), count: arg(2)}
		case opTypeRuntimeArray:
			types[arg(0)] = &spvType{op: op, elem: arg(1)}
		case opTypeStruct:
			types[arg(0)] = &spvType{op: op, members: append([]uint32(nil), ins[1:]...)}
		case opTypePointer:
			types[arg(0)] = &spvType{op: op, class: arg(1), elem: arg(2)}
		case opConstant, opSpecConstant:
			consts[arg(1)] = &spvConst{typ: arg(0), bits: arg(2), spec: op == opSpecConstant}
		case opConstantTrue, opConstantFalse, opSpecConstantTrue, opSpecConstantFalse:
			c := &spvConst{typ: arg(0), spec: op == opSpecConstantTrue || op == opSpecConstantFalse}
			if op == opConstantTrue || op == opSpecConstantTrue {
				c.bits = 1
			}
			consts[arg(1)] = c
		case opConstantComposite, opSpecConstantComp:
			consts[arg(1)] = &spvConst{typ: arg(0), spec: op == opSpecConstantComp, args: append([]uint32(nil), ins[2:]...)}
		case opSpecConstantOp:
			consts[arg(1)] = &spvConst{typ: arg(0), spec: true, op: arg(2), args: append([]uint32(nil), ins[3:]...)}
		case opVariable:
			vars = append(vars, struct{ id, typ, class uint32 }{arg(1), arg(0), arg(2)})
		}
	}
	if !entryFound {
		return nil, errors.New("spirv: no GLCompute entry point")
	}
	specID := func(id uint32) int {
		if d, ok := decor[id][decSpecID]; ok {
			return int(d)
		}
		return -1
	}
	// The spec constants (scalar ones; composites only build the workgroup size).
	for id, c := range consts {
		if !c.spec || c.op != 0 || c.args != nil {
			continue
		}
		sid := specID(id)
		if sid < 0 {
			continue
		}
		t := types[c.typ]
		if t == nil {
			return nil, fmt.Errorf("spirv: spec constant %d has an unknown type", id)
		}
		var st ScalarType
		switch {
		case t.op == opTypeBool:
			st = Bool
		case t.op == opTypeInt && t.width == 32 && t.signed:
			st = Int32
		case t.op == opTypeInt && t.width == 32:
			st = Uint32
		case t.op == opTypeFloat && t.width == 32:
			st = Float32
		default:
			return nil, fmt.Errorf("spirv: spec constant %d (SpecId %d) is not a 32-bit scalar or a bool (Metal function constants are)", id, sid)
		}
		m.SpecConstants = append(m.SpecConstants, SpecConstant{ID: id, SpecID: sid, Name: names[id], Type: st, Default: c.bits})
	}
	sortBy(m.SpecConstants, func(s SpecConstant) int { return s.SpecID })
	// The workgroup size: LocalSize, LocalSizeId, or a WorkgroupSize
	// built-in (glslc's form for local_size_x_id), which takes precedence.
	setSize := func(ids [3]uint32) error {
		for k, id := range ids {
			c := consts[id]
			if c == nil {
				return fmt.Errorf("spirv: workgroup size component %d is not a constant", k)
			}
			m.LocalSize[k] = c.bits
			m.LocalSizeSpecID[k] = specID(id)
		}
		return nil
	}
	if hasSizeIDs {
		if err := setSize(sizeIDs); err != nil {
			return nil, err
		}
	}
	for id, c := range consts {
		if b, ok := decor[id][decBuiltIn]; ok && b == builtInWorkgroupSize && len(c.args) == 3 {
			if err := setSize([3]uint32{c.args[0], c.args[1], c.args[2]}); err != nil {
				return nil, err
			}
		}
	}
	if m.LocalSize[0]*m.LocalSize[1]*m.LocalSize[2] == 0 {
		return nil, errors.New("spirv: the entry point declares no workgroup size")
	}
	// Resources and shared memory. The interface list names every global
	// the entry point uses from SPIR-V 1.4 on; older modules list only
	// inputs and outputs, and then every resource counts.
	useInterface := words[1] >= 0x00010400
	ev := evaluator{types: types, consts: consts, strides: strides, offsets: offsets}
	for _, v := range vars {
		if useInterface && !interfaceV[v.id] {
			continue
		}
		pt := types[v.typ]
		if pt == nil || pt.op != opTypePointer {
			return nil, fmt.Errorf("spirv: variable %d is not of a pointer type", v.id)
		}
		switch StorageClass(v.class) {
		case Workgroup:
			size, err := ev.size(pt.elem)
			if err != nil {
				return nil, fmt.Errorf("spirv: shared variable %s: %w", nameOr(names, v.id), err)
			}
			m.WorkgroupBytes += size
		case StorageBuffer, Uniform, PushConstant:
			r := Resource{ID: v.id, Name: names[v.id], TypeID: pt.elem, TypeName: names[pt.elem], Class: StorageClass(v.class), Set: -1, Binding: -1}
			if r.Class != PushConstant {
				set, ok1 := decor[v.id][decDescriptorSet]
				b, ok2 := decor[v.id][decBinding]
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("spirv: %s %s has no descriptor set and binding", r.Class, nameOr(names, v.id))
				}
				r.Set, r.Binding = int(set), int(b)
			}
			size, err := ev.size(pt.elem)
			if err != nil {
				return nil, fmt.Errorf("spirv: %s %s: %w", r.Class, nameOr(names, v.id), err)
			}
			r.Size = size
			m.Resources = append(m.Resources, r)
		}
	}
	sortBy(m.Resources, func(r Resource) int { return int(r.ID) })
	return m, nil
}

func nameOr(names map[uint32]string, id uint32) string {
	if n := names[id]; n != "" {
		return n
	}
	return fmt.Sprintf("%%%d", id)
}

// literalString decodes a SPIR-V literal string (NUL-terminated UTF-8
// packed four bytes per word).
func literalString(ws []uint32) string {
	var b []byte
	for _, w := range ws {
		for k := 0; k < 4; k++ {
			c := byte(w >> (8 * k))
			if c == 0 {
				return string(b)
			}
			b = append(b, c)
		}
	}
	return string(b)
}

// evaluator computes type sizes, with spec constants at their defaults.
type evaluator struct {
	types   map[uint32]*spvType
	consts  map[uint32]*spvConst
	strides map[uint32]uint32
	offsets map[uint32]map[uint32]uint32
}

// size is the byte size of type id: scalars, vectors, matrices and arrays
// tightly packed unless an ArrayStride says otherwise; a struct ends at its
// last member's Offset plus size when offsets are given (buffers), else is
// the sum (shared memory is not laid out explicitly). A runtime array
// counts 0: only the fixed part of a buffer has a size.
func (e *evaluator) size(id uint32) (int, error) {
	t := e.types[id]
	if t == nil {
		return 0, fmt.Errorf("unknown type %%%d", id)
	}
	switch t.op {
	case opTypeBool:
		return 4, nil
	case opTypeInt, opTypeFloat:
		return int(t.width / 8), nil
	case opTypeVector, opTypeMatrix:
		s, err := e.size(t.elem)
		return s * int(t.count), err
	case opTypeArray:
		n, err := e.value(t.count)
		if err != nil {
			return 0, err
		}
		s, err := e.size(t.elem)
		if st, ok := e.strides[id]; ok {
			s = int(st)
		}
		return s * int(n), err
	case opTypeRuntimeArray:
		return 0, nil
	case opTypeStruct:
		total := 0
		for k, mt := range t.members {
			s, err := e.size(mt)
			if err != nil {
				return 0, err
			}
			if off, ok := e.offsets[id][uint32(k)]; ok {
				total = max(total, int(off)+s)
			} else {
				total += s
			}
		}
		return total, nil
	}
	return 0, fmt.Errorf("type %%%d (opcode %d) has no size", id, t.op)
}

// value evaluates an integer constant, spec constants at their defaults,
// through the integer OpSpecConstantOp operations kernels use in sizes.
func (e *evaluator) value(id uint32) (int64, error) {
	c := e.consts[id]
	if c == nil {
		return 0, fmt.Errorf("%%%d is not a constant", id)
	}
	if c.op == 0 {
		if t := e.types[c.typ]; t != nil && t.op == opTypeInt && t.signed {
			return int64(int32(c.bits)), nil
		}
		return int64(c.bits), nil
	}
	if len(c.args) != 2 {
		return 0, fmt.Errorf("%%%d: spec constant operation %d is not supported in sizes", id, c.op)
	}
	a, err := e.value(c.args[0])
	if err != nil {
		return 0, err
	}
	b, err := e.value(c.args[1])
	if err != nil {
		return 0, err
	}
	switch c.op {
	case 128: // OpIAdd
		return a + b, nil
	case 130: // OpISub
		return a - b, nil
	case 132: // OpIMul
		return a * b, nil
	case 134, 135: // OpUDiv, OpSDiv
		if b == 0 {
			return 0, fmt.Errorf("%%%d: division by zero", id)
		}
		return a / b, nil
	case 196: // OpShiftLeftLogical
		return a << b, nil
	}
	return 0, fmt.Errorf("%%%d: spec constant operation %d is not supported in sizes", id, c.op)
}

// Float32 is a spec constant's default as a float.
func (s SpecConstant) Float32() float32 { return math.Float32frombits(s.Default) }

func sortBy[T any](s []T, key func(T) int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && key(s[j]) < key(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
