package vlmrt_test

import (
	"context"

	"github.com/vlmrt/vlmrt/runtime"
	"github.com/vlmrt/vlmrt/vision"
)

type runtimeToken = runtime.Token

func imageForTest(e *runtime.Engine) (*runtime.Image, error) {
	pre, err := vision.PreprocessFile(context.Background(), "testdata/tiny-a/golden/image1.png", vision.PreprocessOptions{Grid: e.Grid})
	if err != nil {
		return nil, err
	}
	return e.EncodePatches(context.Background(), pre.Patches)
}

func runtimeInput(ids []int32, im *runtime.Image) runtime.Input {
	return runtime.Input{IDs: ids, Images: []*runtime.Image{im}}
}

func runtimeOpts(max int) runtime.Options { return runtime.Options{MaxTokens: max} }
