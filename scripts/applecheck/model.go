package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/bench"
	"github.com/vlmrt/vlmrt/internal/quant"
)

// The decode performance model docs/apple.md states and apple-check tests.
//
// One greedy decode step on the GPU reads every decoder weight once: the
// int8 linears of every layer and the int8 head, with their float16 block
// scales, plus one float16 embedding row and the KV cache so far (float16
// keys and values). Everything else (norm weights, activations) is under
// 0.1% of that. Decode is therefore bandwidth-bound, and a step costs
//
//	t = W / (η·B) + N·τ + σ
//
// W  bytes the step reads (weightBytes + kvBytesPerToken·context);
// B  the GPU's measured read bandwidth (the bench's own copy kernel);
// η  the fraction of B the matrix-vector kernels sustain while streaming
//    weights: designEfficiency;
// N  dependent dispatches per token (each separated by a barrier), τ the
//    GPU's cost of one (launch, drain, barrier): dispatchCost;
// σ  one command buffer's commit and host wait: submitCost.
//
// The bandwidth ratio apple-check reports is W·tok/s ÷ B, which the model
// puts at η·(W/(η·B)) / t: below η by the share of N·τ + σ in the step.

const (
	// designEfficiency is η: what a matvec that reads each weight byte once
	// in coalesced 16-byte loads, one row per SIMD-group, is designed to
	// sustain on Apple GPUs.
	designEfficiency = 0.90
	// dispatchCost is τ, an assumption: a few microseconds per dependent
	// dispatch on Apple GPUs (launch plus the barrier's drain).
	dispatchCostUS = 2.0
	// submitCostUS is σ, an assumption: commit, schedule and wake the host.
	submitCostUS = 100.0
	// dispatchesPerLayer is what the GPU engine records per decoder layer
	// for a decode step (internal/gpu/sequence.go, Sequence.record): the
	// attention RMSNorm; the q, k and v matmuls; QK-norm with M-RoPE for q
	// and for k; the KV-cache store of k and of v; attention; the o matmul
	// with the residual; the MLP RMSNorm; the gate and up matmuls; SwiGLU;
	// the down matmul with the residual — 15 dispatches in 10
	// barrier-separated stages. (A sequence holding an image adds one
	// DeepStack add in each of the first 3 layers.) The GPU bench reports
	// the real number (dispatches_per_token).
	dispatchesPerLayer = 15
	// barriersPerLayer: the stages above are separated by 10 barriers.
	barriersPerLayer = 10
	// dispatchesOutside are the embedding lookup, the final norm, the head
	// and the argmax (with 3 barriers between them and the layers).
	dispatchesOutside = 4
)

// shapeBytes is what one decode step reads for a model shape.
type shapeBytes struct {
	Name            string
	Layers          int
	WeightBytes     int64 // int8 linears + int8 head + scales + one embedding row
	KVBytesPerToken int64 // float16 K and V, every layer, per token of context
}

// matrixBytes is an int8 [rows, cols] quant.Matrix: values and float16 scales.
func matrixBytes(rows, cols int) int64 {
	return int64(rows)*int64(cols) + 2*int64(rows)*int64(quant.BlocksPerRow(cols))
}

// decodeBytes computes a shape's bytes from its configuration, matrix by
// matrix, the way the weights are stored (docs/design.md §3).
func decodeBytes(name string, cfg *config.Model) shapeBytes {
	t := cfg.Text
	h, q, kv, in := t.HiddenSize, t.NumHeads*t.HeadDim, t.NumKVHeads*t.HeadDim, t.IntermediateSize
	layer := matrixBytes(q, h) + 2*matrixBytes(kv, h) + matrixBytes(h, q) + 2*matrixBytes(in, h) + matrixBytes(h, in)
	return shapeBytes{
		Name:            name,
		Layers:          t.NumLayers,
		WeightBytes:     int64(t.NumLayers)*layer + matrixBytes(t.VocabSize, h) + 2*int64(h),
		KVBytesPerToken: int64(t.NumLayers) * 2 * int64(kv) * 2,
	}
}

// chip is an Apple silicon Max-class part: its nominal unified-memory
// bandwidth (Apple's figure for the full part).
type chip struct {
	Name       string
	NominalGBs float64
}

var chips = []chip{
	{"M1 Max", 400},
	{"M2 Max", 400},
	{"M3 Max (16-core CPU)", 400},
	{"M4 Max (16-core CPU)", 546},
}

// measuredFraction is the share of the nominal bandwidth a GPU read kernel
// measures on these parts (an assumption until apple-check reports B).
const measuredFraction = 0.88

// prediction is the model's decode speed for W bytes at bandwidth B.
type prediction struct {
	TokS, Ratio float64 // tokens/s, and W·tok/s ÷ B
}

func predict(bytes int64, bandwidthGBs float64, dispatches int) prediction {
	stream := float64(bytes) / (designEfficiency * bandwidthGBs * 1e9)
	t := stream + float64(dispatches)*dispatchCostUS*1e-6 + submitCostUS*1e-6
	tok := 1 / t
	return prediction{TokS: tok, Ratio: float64(bytes) * tok / (bandwidthGBs * 1e9)}
}

// modelDispatches is N for a shape by the engine design's count.
func modelDispatches(layers int) int { return layers*dispatchesPerLayer + dispatchesOutside }

// modelContext is the context length the model's table assumes: the
// bench's decode (an 11-token prompt, 32 steps) stays under it.
const modelContext = 64

// writeModel prints the performance model tables of docs/apple.md (markdown).
func writeModel(w io.Writer) error {
	var shapes []shapeBytes
	for _, name := range bench.Shapes() {
		cfg, err := bench.Shape(name)
		if err != nil {
			return err
		}
		shapes = append(shapes, decodeBytes(strings.ToUpper(name), cfg))
	}
	fmt.Fprintln(w, "| shape | bytes per token (weights + 1 embedding row) | + KV cache per token of context | dispatches per token (as recorded) | barriers per token |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, s := range shapes {
		fmt.Fprintf(w, "| %s | %s (%.2f GB) | %s | %d (%d layers × %d + %d) | %d (%d × %d + 3) |\n", s.Name, commas(s.WeightBytes), float64(s.WeightBytes)/1e9,
			commas(s.KVBytesPerToken), modelDispatches(s.Layers), s.Layers, dispatchesPerLayer, dispatchesOutside,
			s.Layers*barriersPerLayer+3, s.Layers, barriersPerLayer)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| chip | nominal GB/s | assumed measured GB/s (×%.2f) |", measuredFraction)
	for _, s := range shapes {
		fmt.Fprintf(w, " %s tok/s (ratio) |", s.Name)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|---|---|")
	for range shapes {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, c := range chips {
		b := c.NominalGBs * measuredFraction
		fmt.Fprintf(w, "| %s | %.0f | %.0f |", c.Name, c.NominalGBs, b)
		for _, s := range shapes {
			p := predict(s.WeightBytes+modelContext*s.KVBytesPerToken, b, modelDispatches(s.Layers))
			fmt.Fprintf(w, " %.0f (%.2f) |", p.TokS, p.Ratio)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
