package mslbind

import (
	"fmt"
	"slices"
	"strings"
)

// Expect is what the engine's description of a kernel says about it: the
// descriptors it binds, its push-constant bytes, its specialization
// constants and threadgroup size. Check compares a Binding with it, so a
// description and the generated shaders cannot drift apart unnoticed.
type Expect struct {
	Bindings          [][2]int           // (set, binding) the engine binds
	PushConstantBytes int                // 0: none
	SpecConstants     map[int]ScalarType // SpecId → type the engine sets
	Threadgroup       [3]uint32          // with the engine's specialization; zero: not checked
	// Spec is the specialization the engine uses (for Threadgroup's
	// specialized dimensions).
	Spec map[int]uint32
}

// Check reports every difference between what the MSL kernel takes (b,
// derived from the shaders) and what the engine will give it (e).
// Bindings the engine gives and the kernel does not use are allowed (the
// compiler may drop a resource); a binding the kernel uses that the
// engine does not give is not.
func (b *Binding) Check(m *Module, e Expect) error {
	var problems []string
	given := map[[2]int]bool{}
	for _, k := range e.Bindings {
		given[k] = true
	}
	for k, idx := range b.Buffers {
		if !given[k] {
			problems = append(problems, fmt.Sprintf("the kernel reads set %d binding %d ([[buffer(%d)]]), the description does not bind it", k[0], k[1], idx))
		}
	}
	for _, k := range e.Bindings {
		if _, ok := m.Resource(k[0], k[1]); !ok {
			problems = append(problems, fmt.Sprintf("the description binds set %d binding %d, the SPIR-V declares no such resource", k[0], k[1]))
		}
	}
	switch {
	case b.PushConstants < 0 && e.PushConstantBytes > 0:
		problems = append(problems, fmt.Sprintf("the description pushes %d bytes of constants, the kernel reads none", e.PushConstantBytes))
	case b.PushConstants >= 0 && e.PushConstantBytes < b.PushConstantBytes:
		problems = append(problems, fmt.Sprintf("the kernel reads %d bytes of push constants, the description pushes %d", b.PushConstantBytes, e.PushConstantBytes))
	}
	declared := map[int]ScalarType{}
	for _, s := range m.SpecConstants {
		declared[s.SpecID] = s.Type
	}
	for id, t := range e.SpecConstants {
		got, ok := declared[id]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("the description sets specialization constant %d, the kernel declares none", id))
		case got != t:
			problems = append(problems, fmt.Sprintf("specialization constant %d is %s in the kernel, %s in the description", id, got, t))
		}
	}
	if e.Threadgroup != [3]uint32{} {
		tg := b.Threadgroup
		for i, id := range b.ThreadgroupSpecID {
			if v, ok := e.Spec[id]; ok && id >= 0 {
				tg[i] = v
			}
		}
		if tg != e.Threadgroup {
			problems = append(problems, fmt.Sprintf("threadgroup %v from the kernel, %v in the description", tg, e.Threadgroup))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return fmt.Errorf("kernel %s: %s", b.Function, strings.Join(problems, "; "))
}
