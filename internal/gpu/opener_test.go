package gpu_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/vulkan"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// TestOpenerVision opens tiny-a through the GPU backend's Opener: the vision
// tower is uploaded with the decoder and images are encoded on the device
// (a *gpu.Image matching the oracle); with NoVision there is no tower.
func TestOpenerVision(t *testing.T) {
	device(t) // skips without a Vulkan device
	loc, err := bundle.Resolve(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	open := gpu.Opener(func() (gpu.Device, error) { return vulkan.Open(vulkan.Options{}) })
	ctx := context.Background()
	for _, noVision := range []bool{false, true} {
		e, err := open(ctx, engine.OpenRequest{Path: tinyA, Location: loc, Precision: weights.Int8, NoVision: noVision, Progress: func(engine.Progress) {}})
		if err != nil {
			t.Fatal(err)
		}
		patches := tensor(t, "vision.safetensors", "image1.patches")
		img, err := e.EncodeGrid(ctx, patches, 28, 28)
		if noVision {
			if !errors.Is(err, engine.ErrUnsupportedInput) {
				t.Errorf("NoVision: encode error %v, want ErrUnsupportedInput", err)
			}
		} else {
			if err != nil {
				t.Fatal(err)
			}
			h, ok := img.Handle.(*gpu.Image)
			if !ok {
				t.Fatalf("EncodeGrid handle is %T, want *gpu.Image", img.Handle)
			}
			cfg := e.Config.Vision
			out := imageOutput(t, h, cfg.OutHiddenSize, len(cfg.DeepstackIndexes))
			visionStage(t, "image_embeds", out.ImageEmbeds, tensor(t, "vision.safetensors", "image1.image_embeds"))
			visionStage(t, "deepstack_embeds", out.DeepstackEmbeds, tensor(t, "vision.safetensors", "image1.deepstack_embeds"))
			h.Release()
		}
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}
}
