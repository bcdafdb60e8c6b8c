package main

import (
	"context"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/vision"
)

// preprocessForEngine turns an image file into the engine's patch tensor.
func preprocessForEngine(ctx context.Context, e *engine.Engine, path, resize string) ([]float32, error) {
	mode, err := vision.ParseResizeMode(resize)
	if err != nil {
		return nil, usageError("--resize: %v", err)
	}
	pre, err := vision.PreprocessFile(ctx, path, vision.PreprocessOptions{Resize: mode, Grid: e.Grid})
	if err != nil {
		return nil, err
	}
	return pre.Patches, nil
}
