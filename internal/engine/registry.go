package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// OpenRequest is what an Opener receives: the resolved model location and
// the load options that concern a backend.
type OpenRequest struct {
	Path      string // as the user gave it (for messages)
	Location  *bundle.Location
	Precision weights.Precision
	// NoVision skips the vision tower (text-only use, less memory).
	NoVision bool
	// ContextLength bounds each conversation (0 = the model's default).
	ContextLength int
	// KVCacheF16 keeps each sequence's keys and values in float16.
	KVCacheF16 bool
	// Threads is the worker count of a CPU backend (0 = GOMAXPROCS).
	Threads int
	// Acts is the CPU backend's decode activation format
	// (decoder.Model.SetActs; zero: the float32 reference, decoder.ActsAuto:
	// the CPU's best). Other backends take ActsFloat32 or ActsAuto and
	// compute with their own numerics.
	Acts decoder.Acts
	// Progress, never nil, is told what loading is doing.
	Progress func(Progress)
}

// Progress reports model loading: Stage names what is happening
// ("decoder", "vision encoder", ...); Done/Total are bytes (Total may be 0).
type Progress struct {
	Stage, File string
	Done, Total int64
}

// Opener loads a model on one backend and returns the engine over it. Input
// the backend cannot take is an ErrUnsupportedInput before any heavy work.
// On error it releases everything it opened.
type Opener func(ctx context.Context, req OpenRequest) (*Engine, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{"cpu": openCPU}
)

// Register makes a backend selectable by name, as database/sql drivers do:
// a backend package calls it from init (package coreai registers "coreai"),
// so programs that do not import it link none of it. The CPU backend is
// always registered as "cpu". A second registration replaces the first.
func Register(name string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = open
}

// Lookup returns the opener registered under name.
func Lookup(name string) (Opener, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	o, ok := registry[name]
	return o, ok
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Open loads the model at req.Location on the named backend.
func Open(ctx context.Context, name string, req OpenRequest) (*Engine, error) {
	open, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: backend %q is not included in this build of vlmrt (registered: %v)", ErrUnsupportedInput, name, Backends())
	}
	if req.Progress == nil {
		req.Progress = func(Progress) {}
	}
	if req.Threads < 0 {
		return nil, fmt.Errorf("%w: threads %d must be ≥ 0 (0 = all cores)", ErrUnsupportedInput, req.Threads)
	}
	if req.ContextLength < 0 {
		return nil, fmt.Errorf("%w: context length %d must be ≥ 0 (0 = the model's default)", ErrUnsupportedInput, req.ContextLength)
	}
	if req.Acts != decoder.ActsAuto && req.Acts != decoder.ActsFloat32 && name != "cpu" {
		return nil, fmt.Errorf("%w: %s activations are a CPU-backend option; backend %q computes with its own numerics", ErrUnsupportedInput, req.Acts, name)
	}
	return open(ctx, req)
}
