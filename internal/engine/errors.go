package engine

import (
	"context"
	"errors"
	"fmt"
)

var (
	// ErrContextOverflow: the prompt (plus the room generation needs) does
	// not fit in the context window.
	ErrContextOverflow = errors.New("context window exceeded")
	// ErrUnsupportedInput: input the model or backend cannot take.
	ErrUnsupportedInput = errors.New("unsupported input")
	// ErrCancelled: generation stopped because its context ended.
	ErrCancelled = errors.New("cancelled")
	// ErrClosed: the model was closed (its weights are unmapped).
	ErrClosed = errors.New("vlmrt: model is closed")
)

// cancelled wraps a context error so it matches both ErrCancelled and the
// context's own error.
func cancelled(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrCancelled, err)
	}
	return err
}
