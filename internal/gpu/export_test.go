package gpu

import (
	"context"
	"fmt"

	"github.com/vlmrt/vlmrt/internal/weights"
)

// Exports for the external tests (package gpu_test): they need a real
// device from internal/vulkan, which imports this package.

// OpsModel is a Model with no weights, for running single kernels.
func OpsModel(dev Device) (*Model, error) {
	m := &Model{dev: dev, up: uploader{dev: dev}}
	var err error
	m.dummy, err = m.up.buffer(16)
	return m, err
}

// Matrix is an uploaded linear layer.
type Matrix = matrix

func (m *Model) UploadLinear(l *weights.Linear) (*Matrix, error) {
	return m.up.linear(context.Background(), l, m.dummy)
}

func (m *Model) UploadF32(v []float32) (Buffer, error) { return m.up.f32(context.Background(), v) }

func (m *Model) UploadBytes(b []byte) (Buffer, error) { return m.up.bytes(context.Background(), b) }

// Rec runs fn's recording on a fresh Commands and runs it once.
func (m *Model) Rec(fn func(r *Recorder)) (dispatches int, err error) {
	c, err := m.dev.NewCommands()
	if err != nil {
		return 0, err
	}
	defer c.Release()
	r := &recorder{m: m, c: c}
	fn((*Recorder)(r))
	if r.err != nil {
		return 0, r.err
	}
	return r.dispatches, c.Run(context.Background())
}

type Recorder recorder

func (r *Recorder) Matmul(w *Matrix, x Buffer, xOff int, y Buffer, yOff, yStride, n int, accumulate bool) {
	var f uint32
	if accumulate {
		f = matmulAccumulate
	}
	(*recorder)(r).matmul(w, x, xOff, y, yOff, yStride, n, f)
}

func (r *Recorder) Norm(layer bool, x Buffer, xOff int, y Buffer, yOff int, w, b Buffer, d, rows int, eps float32) {
	mode := uint32(rmsNorm)
	if layer {
		mode = layerNorm
	}
	(*recorder)(r).norm(mode, x, xOff, y, yOff, w, b, d, rows, eps)
}

func (r *Recorder) Rope(x, w, rot Buffer, heads, n, headDim, rowStride, xOff int, eps, scale float32) {
	(*recorder)(r).rope(x, w, rot, 0, heads, n, headDim, rowStride, xOff, eps, scale)
}

// Act modes: 0 SwiGLU, 1 GELU tanh, 2 GELU erf.
func (r *Recorder) Act(mode uint32, x, up Buffer, count int) { (*recorder)(r).act(mode, x, up, count) }

func (r *Recorder) Add(copy bool, x Buffer, xOff int, y Buffer, yOff, count int) {
	mode := uint32(addPlain)
	if copy {
		mode = addCopy
	}
	(*recorder)(r).add(mode, x, xOff, y, yOff, count)
}

func (r *Recorder) Barrier() { (*recorder)(r).barrier() }

// Attention runs the attention kernel: causal over a float16 cache (tokens
// buffer holding the base index) or non-causal over float32 rows.
func (r *Recorder) Attention(causal bool, tokens, q, k, v, out Buffer, heads, kvHeads, headDim, n, kvLen, qStride, kvStride, kOff, vOff, oStride int, scale float32) {
	(*recorder)(r).attention(causal, causal, tokens, q, k, v, out, heads, n,
		attentionPush{HeadDim: uint32(headDim), Group: uint32(heads / kvHeads), KvLen: uint32(kvLen), Scale: scale,
			QStride: uint32(qStride), KvStride: uint32(kvStride), KOff: uint32(kOff), VOff: uint32(vOff), OStride: uint32(oStride)})
}

func (r *Recorder) KVStore(tokens, src, cache Buffer, kvDim, n int) {
	(*recorder)(r).run("kvstore", []uint32{lxDefault, 1}, [3]int{ceil(kvDim/2, lxDefault), n, 1}, kvstorePush{KvDim: uint32(kvDim)}, tokens, src, cache)
}

func (r *Recorder) Argmax(x Buffer, xOff, count int, out Buffer) {
	(*recorder)(r).run("argmax", []uint32{lxArgmax}, [3]int{1, 1, 1}, argmaxPush{Count: uint32(count), XOff: uint32(xOff)}, x, out)
}

func (r *Recorder) Embed(format uint32, tokens, table, images, x Buffer, hidden, vocab, stride, n int) {
	(*recorder)(r).run("embed", []uint32{lxDefault, format}, [3]int{ceil(hidden, lxDefault), n, 1},
		embedPush{Hidden: uint32(hidden), Vocab: uint32(vocab), ImageStride: uint32(stride), Rows: uint32(vocab), Images: 1}, tokens, table, images, x)
}

// SetGPUStyle makes the model record the kernel variants meant for real
// GPUs even on a CPU driver, so lavapipe tests them too.
func (m *Model) SetGPUStyle(on bool) { m.gpuStyle = on }

// Rows reads an encoded image back: [tokens][(1+DeepStack)·hidden].
func (im *Image) Rows() ([]float32, error) {
	if im.buf == nil {
		return nil, fmt.Errorf("image released")
	}
	out := make([]float32, im.buf.Size()/4)
	return out, im.buf.Read(0, asBytes(out))
}

// SetVisionChunk makes the vision tower dispatch its row-wise kernels and
// its MLP rows at most rows at a time (0: the default), so that small
// images exercise the chunking large ones need.
func (m *Model) SetVisionChunk(rows int) { m.visionChunk = rows }

// NewTestBackend is a Backend over m alone (no host model), for StepBatch.
func NewTestBackend(m *Model) *Backend { return &Backend{dev: m.dev, m: m} }

// CheckDeviceMemory is checkDeviceMemory.
var CheckDeviceMemory = checkDeviceMemory
