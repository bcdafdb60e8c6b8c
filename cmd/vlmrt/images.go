package main

import (
	"context"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/vision"
)

// preprocessForEngine turns an image file into the engine's patch tensor
// and its patch grid.
func preprocessForEngine(ctx context.Context, e *engine.Engine, path, resize string, budget vision.Budget) (*vision.Preprocessed, error) {
	mode, err := vision.ParseResizeMode(resize)
	if err != nil {
		return nil, usageError("--resize: %v", err)
	}
	return vision.PreprocessFile(ctx, path, vision.PreprocessOptions{Resize: mode, Grid: e.Grid, Budget: budget})
}
