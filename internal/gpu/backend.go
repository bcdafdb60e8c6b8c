package gpu

import (
	"context"
	"errors"
	"fmt"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/tokenizer"
	"github.com/vlmrt/vlmrt/vision"

	"github.com/vlmrt/vlmrt/internal/engine"
)

// Backend is the GPU engine as an engine.Backend: the decoder on a device,
// sequences with their KV caches and static image buffers on it.
type Backend struct {
	batchState
	dev  Device
	m    *Model
	host *engine.CPU // the mapped files (the decoder and vision tower are on the device)
}

// Image is an encoded image in device memory: [tokens][(1+DeepStack)·hidden],
// each token's embedding followed by its DeepStack rows — the layout of a
// sequence's static image buffer, so AddImage is one device copy.
type Image struct {
	m      *Model
	buf    Buffer
	tokens int
}

// Tokens implements engine.ImageHandle.
func (im *Image) Tokens() int { return im.tokens }

// Release implements engine.ImageHandle.
func (im *Image) Release() {
	if im.buf != nil {
		im.buf.Release()
		im.buf = nil
	}
}

// Info implements engine.Backend.
func (b *Backend) Info() engine.ModelInfo {
	d := b.dev.Info()
	return engine.ModelInfo{Vocab: b.m.vocab, DecodeBytesPerToken: b.m.BytesPerToken, Device: d.API + ": " + d.Name}
}

// Model is the model on the device (for measurements that run its parts,
// such as the vision tower's traced encode).
func (b *Backend) Model() *Model { return b.m }

// Live reports the buffers the backend's device holds and their bytes,
// when the device counts them (ok false otherwise).
func (b *Backend) Live() (buffers int, bytes int64, ok bool) {
	if c, is := b.dev.(interface{ Live() (int, int64) }); is {
		buffers, bytes = c.Live()
		return buffers, bytes, true
	}
	return 0, 0, false
}

// Device describes the device the model runs on.
func (b *Backend) Device() DeviceInfo { return b.dev.Info() }

// NewSequence implements engine.Backend.
func (b *Backend) NewSequence(ctx context.Context) (engine.Sequence, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.m.NewSequence()
}

// EncodeImage implements engine.Backend: the vision tower runs on the
// device and the image stays there (see Model.EncodeImage).
func (b *Backend) EncodeImage(ctx context.Context, patches []float32, gridH, gridW int) (engine.ImageHandle, error) {
	img, err := b.m.EncodeImage(ctx, patches, gridH, gridW)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// Close implements engine.Backend: the device memory, then the device, then
// the host side.
func (b *Backend) Close() error {
	b.releaseBatch()
	b.m.Close()
	err := b.dev.Close()
	if b.host != nil {
		if herr := b.host.Close(); err == nil {
			err = herr
		}
	}
	return err
}

// Opener returns the engine.Opener of a GPU backend whose device
// openDevice returns (vulkan.OpenDevice, metal.OpenDevice): the model is
// read by the CPU backend's loader (engine.LoadCPU), then NewEngine moves
// it to the device.
func Opener(openDevice func() (Device, error)) engine.Opener {
	return func(ctx context.Context, req engine.OpenRequest) (*engine.Engine, error) {
		dev, err := openDevice()
		if errors.Is(err, ErrUnavailable) {
			return nil, fmt.Errorf("%w: %w", engine.ErrUnsupportedInput, err)
		}
		if err != nil {
			return nil, err
		}
		host, cfg, tok, err := engine.LoadForDevice(ctx, req)
		if err != nil {
			dev.Close()
			return nil, err
		}
		return NewEngine(ctx, dev, host, cfg, tok, req.ContextLength, req.KVCacheF16, req.Progress)
	}
}

// NewEngine moves a model bound by the CPU backend to dev: the decoder's
// and the vision tower's weights (when host has one) are uploaded once and
// the host copies dropped. The returned
// engine owns dev and host (closed with it, or on error).
func NewEngine(ctx context.Context, dev Device, host *engine.CPU, cfg *config.Model, tok *tokenizer.Tokenizer, contextLength int, kvF16 bool, progress func(engine.Progress)) (*engine.Engine, error) {
	if progress == nil {
		progress = func(engine.Progress) {}
	}
	ctxLen := engine.ContextLength(cfg, contextLength)
	var vp *vision.Params
	if host.Vision != nil {
		p := host.Vision.Params()
		vp = &p
	}
	// Refuse a model the device cannot hold before uploading any of it: an
	// allocation failing half-way says less, and some drivers overcommit
	// and fail later, mid-run.
	if err := checkDeviceMemory(dev.Info(), DeviceNeed(host.Decoder.Params(), vp, ctxLen, kvF16)); err != nil {
		host.Close()
		dev.Close()
		return nil, err
	}
	stage := "upload to " + dev.Info().Name
	progress(engine.Progress{Stage: stage})
	m, err := Upload(ctx, dev, host.Decoder.Params(), func(done int64) { progress(engine.Progress{Stage: stage, Done: done}) })
	if err != nil {
		host.Close()
		dev.Close()
		return nil, err
	}
	m.contextLength = ctxLen
	if vp != nil {
		if err := m.UploadVision(ctx, *vp); err != nil {
			m.Close()
			host.Close()
			dev.Close()
			return nil, err
		}
	}
	m.KVCacheF16 = kvF16
	// The decoder and the vision tower now live on the device; drop the
	// host copies (their weights are host memory).
	host.Decoder, host.Vision = nil, nil
	b := &Backend{dev: dev, m: m, host: host}
	e, err := engine.New(cfg, tok, b, contextLength)
	if err != nil {
		b.Close()
		return nil, err
	}
	return e, nil
}

// DispatchesPerToken is the kernel dispatches of one recorded decode step
// (0 before the first step).
func (b *Backend) DispatchesPerToken() int { return int(b.m.stepDispatches.Load()) }

// MeasureBandwidth runs the device's read-bandwidth probe (see
// MeasureBandwidth) on the backend's device.
func (b *Backend) MeasureBandwidth(ctx context.Context, size int64) (float64, error) {
	return MeasureBandwidth(ctx, b.dev, size)
}

var (
	_ engine.Backend     = (*Backend)(nil)
	_ engine.Sequence    = (*Sequence)(nil)
	_ engine.TokenPicker = (*Sequence)(nil)
)
