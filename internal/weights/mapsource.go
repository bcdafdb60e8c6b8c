package weights

import (
	"fmt"

	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// MapSource is an in-memory Source (benchmarks with random weights, tests).
type MapSource map[string]safetensors.Tensor

func (m MapSource) Has(name string) bool { _, ok := m[name]; return ok }

func (m MapSource) Tensor(name string) (safetensors.Tensor, error) {
	t, ok := m[name]
	if !ok {
		return safetensors.Tensor{}, fmt.Errorf("missing tensor %q", name)
	}
	return t, nil
}

func (m MapSource) Release(safetensors.Tensor) {}
