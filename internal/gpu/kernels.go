package gpu

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/vlmrt/vlmrt/internal/gpu/shaders"
)

// KernelNames lists the kernels of the engine (one GLSL file each).
var KernelNames = []string{"embed", "norm", "rope", "matmul", "kvstore", "attention", "attention_rows", "act", "add", "argmax", "bandwidth"}

// reflection is the part of spirv-cross --reflect the Go side relies on.
type reflection struct {
	Types map[string]struct {
		Name    string `json:"name"`
		Members []struct {
			Name   string `json:"name"`
			Type   string `json:"type"`
			Offset int    `json:"offset"`
		} `json:"members"`
	} `json:"types"`
	SSBOs []struct {
		Name    string `json:"name"`
		Set     int    `json:"set"`
		Binding int    `json:"binding"`
	} `json:"ssbos"`
	PushConstants []struct {
		Type string `json:"type"`
	} `json:"push_constants"`
	SpecConstants []struct {
		Name string `json:"name"`
		ID   int    `json:"id"`
	} `json:"specialization_constants"`
}

// PushMember is one field of a kernel's push-constant block.
type PushMember struct {
	Name   string
	Offset int
}

var (
	kernelsOnce sync.Once
	kernelsErr  error
	kernelTable map[string]*Kernel
	pushLayouts map[string][]PushMember
)

// LoadKernel returns the description of kernel name, read once from the
// embedded SPIR-V, MSL and reflection.
func LoadKernel(name string) (*Kernel, error) {
	kernelsOnce.Do(func() { kernelsErr = loadKernels() })
	if kernelsErr != nil {
		return nil, kernelsErr
	}
	k, ok := kernelTable[name]
	if !ok {
		return nil, fmt.Errorf("gpu: no kernel %q", name)
	}
	return k, nil
}

// PushLayout returns the push-constant fields of kernel name in order.
func PushLayout(name string) ([]PushMember, error) {
	if _, err := LoadKernel(name); err != nil {
		return nil, err
	}
	return pushLayouts[name], nil
}

func loadKernels() error {
	kernelTable = map[string]*Kernel{}
	pushLayouts = map[string][]PushMember{}
	for _, name := range KernelNames {
		k, push, err := loadKernel(name)
		if err != nil {
			return fmt.Errorf("gpu: kernel %s: %w", name, err)
		}
		kernelTable[name], pushLayouts[name] = k, push
	}
	return nil
}

func loadKernel(name string) (*Kernel, []PushMember, error) {
	spv, err := fs.ReadFile(shaders.FS, "spv/"+name+".spv")
	if err != nil {
		return nil, nil, err
	}
	msl, err := fs.ReadFile(shaders.FS, "msl/"+name+".metal")
	if err != nil {
		return nil, nil, err
	}
	js, err := fs.ReadFile(shaders.FS, "reflect/"+name+".json")
	if err != nil {
		return nil, nil, err
	}
	return parseKernel(name, spv, string(msl), js)
}

// Bounds on what a reflection may describe: far above any kernel's, low
// enough that a corrupt file cannot make the loader allocate without end.
const (
	maxSpecConstants = 64
	maxPushBytes     = 4096
)

// parseKernel builds a kernel's description from its code and reflection
// (spirv-cross --reflect JSON), refusing anything the Go side cannot bind.
func parseKernel(name string, spv []byte, msl string, js []byte) (*Kernel, []PushMember, error) {
	var r reflection
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, nil, fmt.Errorf("reflection: %w", err)
	}
	k := &Kernel{Name: name, SPIRV: spv, MSL: msl, Buffers: len(r.SSBOs)}
	for i, b := range r.SSBOs {
		if b.Set != 0 {
			return nil, nil, fmt.Errorf("buffer %s in set %d, want 0", b.Name, b.Set)
		}
		if !slices.ContainsFunc(r.SSBOs, func(o struct {
			Name    string `json:"name"`
			Set     int    `json:"set"`
			Binding int    `json:"binding"`
		}) bool {
			return o.Binding == i
		}) {
			return nil, nil, fmt.Errorf("bindings are not 0..%d", len(r.SSBOs)-1)
		}
	}
	var push []PushMember
	if len(r.PushConstants) == 1 {
		t := r.Types[r.PushConstants[0].Type]
		for _, m := range t.Members {
			if m.Type != "uint" && m.Type != "float" && m.Type != "int" {
				return nil, nil, fmt.Errorf("push constant %s has type %s; the Go side packs 32-bit scalars only", m.Name, m.Type)
			}
			if m.Offset < 0 || m.Offset%4 != 0 || m.Offset+4 > maxPushBytes {
				return nil, nil, fmt.Errorf("push constant %s at offset %d: want a multiple of 4 below %d", m.Name, m.Offset, maxPushBytes)
			}
			push = append(push, PushMember{Name: m.Name, Offset: m.Offset})
			k.PushBytes = max(k.PushBytes, m.Offset+4)
		}
	}
	for _, s := range r.SpecConstants {
		if s.Name == "" {
			continue // the workgroup-size composite glslc emits beside LX
		}
		if s.ID < 0 || s.ID >= maxSpecConstants {
			return nil, nil, fmt.Errorf("specialization constant %s has id %d, want 0..%d", s.Name, s.ID, maxSpecConstants-1)
		}
		for len(k.Spec) <= s.ID {
			k.Spec = append(k.Spec, "")
		}
		k.Spec[s.ID] = s.Name
	}
	if len(k.Spec) == 0 || k.Spec[0] != "LX" || slices.Contains(k.Spec, "") {
		return nil, nil, fmt.Errorf("specialization constants %v: want LX at id 0 and no gaps", k.Spec)
	}
	if !strings.Contains(k.MSL, "kernel void "+name+"_main(") {
		return nil, nil, fmt.Errorf("MSL has no entry point %s_main", name)
	}
	shared, err := parseShared(k.MSL, k.Spec)
	if err != nil {
		return nil, nil, err
	}
	k.Shared = shared
	return k, push, nil
}
