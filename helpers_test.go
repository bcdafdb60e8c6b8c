package vlmrt_test

import (
	"context"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/vision"
)

type runtimeToken = engine.Token

func imageForTest(e *engine.Engine) (*engine.Image, error) {
	pre, err := vision.PreprocessFile(context.Background(), "testdata/tiny-a/golden/image1.png", vision.PreprocessOptions{Grid: e.Grid})
	if err != nil {
		return nil, err
	}
	return e.EncodePatches(context.Background(), pre.Patches)
}

func runtimeInput(ids []int32, im *engine.Image) engine.Input {
	return engine.Input{IDs: ids, Images: []*engine.Image{im}}
}

func runtimeOpts(max int) engine.Options { return engine.Options{MaxTokens: max} }
