package gpu_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/memfit"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// TestDeviceMemoryCheck: the device need counts at least the weights one
// decode step reads plus the KV cache at the context length; a device
// (lavapipe reports 2 GiB) far above tiny-a's need accepts it, one below
// refuses it naming both numbers, before any upload.
func TestDeviceMemoryCheck(t *testing.T) {
	loc, err := bundle.Resolve(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	host, cfg, _, err := engine.LoadForDevice(context.Background(), engine.OpenRequest{Path: tinyA, Location: loc, Precision: weights.Int8, Progress: func(engine.Progress) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	vp := host.Vision.Params()
	need := gpu.DeviceNeed(host.Decoder.Params(), &vp, 4096, false)
	text := gpu.DeviceNeed(host.Decoder.Params(), nil, 4096, false)
	t.Logf("tiny-a on a device at 4096 tokens: %v (total %s)", need, memfit.GB(need.Total()))
	if need.Weights <= host.Decoder.WeightBytes() || text.Weights >= need.Weights || need.KVCache != engine.KVCacheBytes(cfg.Text, 4096, false) {
		t.Errorf("need %+v, text-only %+v: want more than the %d bytes a step reads, less without the tower, the KV cache at 4096 tokens", need, text, host.Decoder.WeightBytes())
	}
	if err := gpu.CheckDeviceMemory(gpu.DeviceInfo{Name: "lavapipe", MemoryBytes: 2 << 30}, need); err != nil {
		t.Errorf("2 GiB device: %v", err)
	}
	err = gpu.CheckDeviceMemory(gpu.DeviceInfo{Name: "small", MemoryBytes: need.Total() / 2}, need)
	if !errors.Is(err, gpu.ErrUnsupported) || !strings.Contains(err.Error(), memfit.GB(need.Total())) || !strings.Contains(err.Error(), "small has "+memfit.GB(need.Total()/2)) {
		t.Errorf("device of half the need: %v", err)
	}
	if err := gpu.CheckDeviceMemory(gpu.DeviceInfo{Name: "unknown"}, need); err != nil {
		t.Errorf("a device that reports no memory is not checked: %v", err)
	}
}
