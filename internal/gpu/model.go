package gpu

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
)

// Model is the decoder on a device: every weight uploaded once, in the
// layout the CPU engine reads (int8 in the quant.Matrix layout, or float32),
// and the compiled pipelines shared by all of its sequences.
type Model struct {
	dev Device

	vocab, hidden, heads, kvHeads, headDim, inter, deepstack int
	eps                                                      float32
	rotary                                                   *mrope.Rotary

	embed       []tablePart
	embedFormat uint32
	layers      []layerWeights
	norm        Buffer
	head        *matrix
	vision      *visionTower // nil: no vision tower uploaded
	dummy       Buffer       // bound where a kernel's optional buffer is unused

	// BytesPerToken is the weight bytes one decode step reads: every
	// linear layer and the head (as the CPU's decoder.Model.WeightBytes;
	// the one embedding row is not counted).
	BytesPerToken int64
	// KVCacheF16 makes new sequences keep keys and values in float16 (half
	// the memory and the attention reads; values rounded once when
	// stored). Set it before making sequences.
	KVCacheF16 bool

	// contextLength caps a sequence's KV buffers (0: no cap; growth
	// doubles, so a cap keeps the cache within what DeviceNeed counted).
	contextLength int

	gpuStyle       bool         // use GPU-shaped kernel variants even on a CPU driver (tests)
	stepDispatches atomic.Int64 // dispatches of the last recorded decode step
	visionChunk    int          // rows per row-wise vision dispatch (0: visionRows); tests lower it

	up    uploader
	pipes sync.Map // pipeKey → Pipeline
	mu    sync.Mutex
}

type layerWeights struct {
	inputNorm, postNorm, qNorm, kNorm Buffer
	q, k, v, o, gate, up, down        *matrix
}

// Upload copies the decoder's weights to dev. progress, if set, is told the
// bytes uploaded so far.
func Upload(ctx context.Context, dev Device, p decoder.Params, progress func(done int64)) (*Model, error) {
	t := p.Text
	if t.HeadDim%2 != 0 || t.HeadDim > 512 {
		return nil, fmt.Errorf("%w: head_dim %d: the GPU kernels take an even head_dim ≤ 512", ErrUnsupported, t.HeadDim)
	}
	m := &Model{
		dev: dev, vocab: t.VocabSize, hidden: t.HiddenSize, heads: t.NumHeads, kvHeads: t.NumKVHeads,
		headDim: t.HeadDim, inter: t.IntermediateSize, deepstack: p.DeepStack, eps: float32(t.RMSNormEps),
		rotary: p.Rotary, up: uploader{dev: dev, prog: progress},
	}
	if err := m.upload(ctx, p); err != nil {
		m.up.release()
		return nil, err
	}
	return m, nil
}

func (m *Model) upload(ctx context.Context, p decoder.Params) error {
	u := &m.up
	var err error
	if m.dummy, err = u.buffer(16); err != nil {
		return err
	}
	if m.embed, m.embedFormat, err = u.table(ctx, p.Embed); err != nil {
		return err
	}
	for _, l := range p.Layers {
		var w layerWeights
		for _, v := range []struct {
			dst *Buffer
			src []float32
		}{{&w.inputNorm, l.InputNorm}, {&w.postNorm, l.PostNorm}, {&w.qNorm, l.QNorm}, {&w.kNorm, l.KNorm}} {
			if *v.dst, err = u.f32(ctx, v.src); err != nil {
				return err
			}
		}
		lins := []**matrix{&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down}
		for i, src := range [...]*weights.Linear{l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down} {
			if *lins[i], err = u.linear(ctx, src, m.dummy); err != nil {
				return err
			}
			m.BytesPerToken += (*lins[i]).bytes
		}
		m.layers = append(m.layers, w)
	}
	if m.norm, err = u.f32(ctx, p.Norm); err != nil {
		return err
	}
	if m.head, err = u.linear(ctx, p.Head, m.dummy); err != nil {
		return err
	}
	m.BytesPerToken += m.head.bytes
	return nil
}

// Close releases the weights and pipelines.
func (m *Model) Close() {
	m.pipes.Range(func(k, v any) bool {
		v.(Pipeline).Release()
		m.pipes.Delete(k)
		return true
	})
	m.up.release()
}

type pipeKey struct {
	name string
	spec string
}

// pipeline returns kernel name specialised by spec, compiled once.
func (m *Model) pipeline(name string, spec []uint32) (Pipeline, error) {
	key := pipeKey{name, fmt.Sprint(spec)}
	if p, ok := m.pipes.Load(key); ok {
		return p.(Pipeline), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.pipes.Load(key); ok {
		return p.(Pipeline), nil
	}
	k, err := LoadKernel(name)
	if err != nil {
		return nil, err
	}
	p, err := m.dev.Pipeline(k, spec)
	if err != nil {
		return nil, fmt.Errorf("gpu: kernel %s %s: %w", name, strings.Join(k.Spec, ","), err)
	}
	m.pipes.Store(key, p)
	return p, nil
}
