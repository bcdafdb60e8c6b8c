// Package bridge gives packages inside the module what the root package
// keeps out of its API (which names no internal type): today, a
// *vlmrt.Model over an engine built elsewhere, such as the benchmark's
// synthetic shapes. Package vlmrt fills it in from init; the result is an
// any because this package cannot import vlmrt.
package bridge

import "github.com/vlmrt/vlmrt/internal/engine"

// Model wraps an engine as a *vlmrt.Model (assert the type). name stands
// for the model's path in its Info.
var Model func(e *engine.Engine, name string) any
