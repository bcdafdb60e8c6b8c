package vlmrt

import "github.com/vlmrt/vlmrt/internal/engine"

// EngineOf exposes a model's engine to this package's external tests (the
// API keeps it internal): expert tests drive sessions with raw inputs.
func EngineOf(m *Model) *engine.Engine {
	if m == nil {
		return nil
	}
	return m.engine
}
