package vlmrt

import (
	"context"
	"io"
	"sync"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/engine"
)

// BackendRequest is what Open hands a registered backend: the resolved model
// location and the options that concern it.
type BackendRequest struct {
	Path          string // as given to Open
	Location      *bundle.Location
	Precision     Precision
	NoVision      bool
	ContextLength int // 0 = the model's default
	Progress      func(LoadProgress)
}

// BackendOpener loads a model on a backend. It returns the engine and what
// to close with the Model. Errors for input the backend cannot take wrap
// ErrUnsupportedInput.
type BackendOpener func(ctx context.Context, req BackendRequest) (*engine.Engine, io.Closer, error)

var (
	backendsMu sync.RWMutex
	backends   = map[Backend]BackendOpener{}
)

// RegisterBackend makes a backend selectable with WithBackend. Backend
// packages call it from init, as database/sql drivers do: importing
// github.com/vlmrt/vlmrt/coreai for its side effect adds BackendCoreAI, so
// programs that do not use Apple's Core AI link none of it. A second
// registration of the same name replaces the first.
func RegisterBackend(b Backend, open BackendOpener) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends[b] = open
}

func registeredBackend(b Backend) BackendOpener {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	return backends[b]
}
