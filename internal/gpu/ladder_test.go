package gpu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

// The golden ladder on the device: the oracle's hidden states at every
// stage, its logits and its greedy tokens, for every prompt in both
// precisions (float32 against the fp oracle, int8 against the fake-quant
// oracle), with the same tolerances as the CPU decoder's ladder.

const (
	tinyA         = "../../testdata/tiny-a"
	goldenDir     = tinyA + "/golden/"
	minCosine     = 0.99999 // hidden states at the recorded positions
	logitTol      = 1e-3    // absolute, on logits
	healthyMargin = 0.1     // teacher-forced argmax compared where the oracle's top-2 gap is at least this
)

type goldenPrompt struct {
	Image           *string    `json:"image"`
	ExtIDs          []int32    `json:"ext_ids"`
	PositionsTHW    [][3]int32 `json:"positions_thw"`
	RecordPositions []int      `json:"record_positions"`
}

type goldenDecoder struct {
	Argmax              []int32   `json:"argmax"`
	Top2Margin          []float64 `json:"top2_margin"`
	FullLogitsPositions []int     `json:"full_logits_positions"`
	Greedy              struct {
		Tokens     []int32   `json:"tokens"`
		Top2Margin []float64 `json:"top2_margin"`
	} `json:"greedy"`
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(goldenDir + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func tensor(t testing.TB, file, name string) []float32 {
	t.Helper()
	f, err := safetensors.Open(goldenDir + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tn, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tn.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// deviceModel uploads tiny-a's decoder at precision p.
func deviceModel(t testing.TB, p weights.Precision) *gpu.Model {
	t.Helper()
	return deviceModelOn(t, device(t), p)
}

func deviceModelOn(t testing.TB, d gpu.Device, p weights.Precision) *gpu.Model {
	t.Helper()
	ck, err := bundle.OpenCheckpoint(tinyA)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	dm, err := decoder.Load(context.Background(), ck.Tensors, ck.Config, p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := gpu.Upload(context.Background(), d, dm.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// recorder keeps the traced rows at some sequence indices.
type recorder struct {
	hidden int
	want   map[int]int // sequence index → row
	got    map[string][]float32
}

func (r *recorder) Trace(stage decoder.Stage, layer, index int, h []float32) {
	row, ok := r.want[index]
	if !ok {
		return
	}
	name := stage.String()
	if layer >= 0 {
		name = fmt.Sprintf("%s.%d", name, layer)
	}
	buf := r.got[name]
	if buf == nil {
		buf = make([]float32, len(r.want)*r.hidden)
		r.got[name] = buf
	}
	copy(buf[row*r.hidden:], h)
}

type errStats struct{ minCos, maxAbs float64 }

func (e *errStats) add(got, want []float32) {
	var dot, gg, ww float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		dot, gg, ww = dot+g*w, gg+g*g, ww+w*w
		e.maxAbs = max(e.maxAbs, math.Abs(g-w))
	}
	e.minCos = min(e.minCos, dot/math.Sqrt(gg*ww))
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func TestLadder(t *testing.T) {
	var inputs struct {
		Prompts map[string]goldenPrompt `json:"prompts"`
	}
	readJSON(t, "inputs.json", &inputs)
	ctx := context.Background()
	for _, p := range []weights.Precision{weights.F32, weights.Int8} {
		mode := map[weights.Precision]string{weights.F32: "fp", weights.Int8: "q8"}[p]
		m := deviceModel(t, p)
		var gold struct {
			Prompts map[string]goldenDecoder `json:"prompts"`
		}
		readJSON(t, "decoder_"+mode+".json", &gold)
		for _, name := range []string{"image", "text", "multiturn"} {
			t.Run(mode+"/"+name, func(t *testing.T) {
				prompt, g := inputs.Prompts[name], gold.Prompts[name]
				n := len(prompt.ExtIDs)
				V := 151936
				const hidden = 64
				s, err := m.NewSequence()
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if prompt.Image != nil {
					out := &vision.Output{
						ImageEmbeds:     tensor(t, "vision.safetensors", *prompt.Image+".image_embeds"),
						DeepstackEmbeds: tensor(t, "vision.safetensors", *prompt.Image+".deepstack_embeds"),
						Tokens:          196,
					}
					if _, err := s.AddImage(ctx, engine.HostImage{Out: out}); err != nil {
						t.Fatal(err)
					}
				}
				rec := &recorder{hidden: hidden, want: map[int]int{}, got: map[string][]float32{}}
				for i, p := range prompt.RecordPositions {
					rec.want[p] = i
				}
				s.Tracer = rec

				// Batched prefill in chunks (128-token passes), all logits.
				logits := make([]float32, n*V)
				if err := s.Forward(ctx, prompt.ExtIDs, prompt.PositionsTHW, engine.AllLogits, logits); err != nil {
					t.Fatal(err)
				}
				s.Tracer = nil

				// Rung 1: hidden states at the recorded positions.
				stages := []string{"inputs_embeds"}
				for l := 0; l < 5; l++ {
					stages = append(stages, fmt.Sprintf("layer_out.%d", l), fmt.Sprintf("layer_post_ds.%d", l))
				}
				stages = append(stages, "final_norm")
				for _, st := range stages {
					want := tensor(t, "decoder_"+mode+".safetensors", name+"."+st)
					got := rec.got[st]
					if len(got) != len(want) {
						t.Fatalf("%s: traced %d values, golden %d", st, len(got), len(want))
					}
					e := errStats{minCos: 1}
					for r := 0; r < len(want)/hidden; r++ {
						e.add(got[r*hidden:(r+1)*hidden], want[r*hidden:(r+1)*hidden])
					}
					t.Logf("%s/%s %-16s cosine %.8f max abs %.3g", mode, name, st, e.minCos, e.maxAbs)
					if e.minCos < minCosine {
						t.Errorf("%s: cosine %.8f < %g", st, e.minCos, minCosine)
					}
				}

				// Rung 2: teacher-forced argmax at every position, full logits rows.
				differ := 0
				for i := 0; i < n; i++ {
					if a := argmax(logits[i*V : (i+1)*V]); int32(a) != g.Argmax[i] {
						if g.Top2Margin[i] >= healthyMargin {
							t.Errorf("position %d: argmax %d, golden %d (margin %.4f)", i, a, g.Argmax[i], g.Top2Margin[i])
						}
						differ++
					}
				}
				want := tensor(t, "decoder_"+mode+".safetensors", name+".logits_last")
				le := errStats{minCos: 1}
				for r, pos := range g.FullLogitsPositions {
					le.add(logits[pos*V:(pos+1)*V], want[r*V:(r+1)*V])
				}
				t.Logf("%s/%s logits rows %v: cosine %.8f max abs %.3g; teacher-forced argmax differs at %d/%d positions (all below margin %.1f)",
					mode, name, g.FullLogitsPositions, le.minCos, le.maxAbs, differ, n, healthyMargin)
				if le.maxAbs > logitTol {
					t.Errorf("logits max abs %.3g > %g", le.maxAbs, logitTol)
				}

				// Rung 3: the replayed one-token step: the prompt's last 8
				// tokens one at a time after a chunked prefill of the rest
				// give the same last logits.
				s1, err := m.NewSequence()
				if err != nil {
					t.Fatal(err)
				}
				defer s1.Close()
				if prompt.Image != nil {
					out := &vision.Output{
						ImageEmbeds:     tensor(t, "vision.safetensors", *prompt.Image+".image_embeds"),
						DeepstackEmbeds: tensor(t, "vision.safetensors", *prompt.Image+".deepstack_embeds"),
						Tokens:          196,
					}
					if _, err := s1.AddImage(ctx, engine.HostImage{Out: out}); err != nil {
						t.Fatal(err)
					}
				}
				cut := n - 8
				if err := s1.Forward(ctx, prompt.ExtIDs[:cut], prompt.PositionsTHW[:cut], engine.NoLogits, nil); err != nil {
					t.Fatal(err)
				}
				last := make([]float32, V)
				for i := cut; i < n; i++ {
					if err := s1.Forward(ctx, prompt.ExtIDs[i:i+1], prompt.PositionsTHW[i:i+1], engine.LastLogits, last); err != nil {
						t.Fatal(err)
					}
				}
				se := errStats{minCos: 1}
				se.add(last, logits[(n-1)*V:])
				t.Logf("%s/%s S=1 steps vs chunked prefill, last logits: cosine %.8f max abs %.3g", mode, name, se.minCos, se.maxAbs)
				if se.maxAbs > 1e-4 {
					t.Errorf("S=1 and chunked prefill differ: max abs %.3g", se.maxAbs)
				}

				// Rung 4: greedy continuation, argmax on the device.
				greedyCompare(t, s, prompt, g, logits[(n-1)*V:], le.maxAbs, mode+"/"+name)
			})
		}
	}
}

// smallBuffers is a device whose largest buffer binding is tiny, so every
// big matrix and the embedding table are split into parts.
type smallBuffers struct {
	gpu.Device
	limit int64
}

func (d smallBuffers) Info() gpu.DeviceInfo {
	i := d.Device.Info()
	i.MaxBufferBytes = d.limit
	return i
}

// TestSplitBuffers: with a 1 MiB buffer limit (the head and the embedding
// table in 20-40 parts, every product one dispatch per part) the logits
// are the unsplit model's and greedy decoding gives the oracle's tokens.
func TestSplitBuffers(t *testing.T) {
	var inputs struct {
		Prompts map[string]goldenPrompt `json:"prompts"`
	}
	readJSON(t, "inputs.json", &inputs)
	var gold struct {
		Prompts map[string]goldenDecoder `json:"prompts"`
	}
	readJSON(t, "decoder_q8.json", &gold)
	ctx := context.Background()
	prompt, g := inputs.Prompts["text"], gold.Prompts["text"]
	const V = 151936
	n := len(prompt.ExtIDs)
	var want []float32
	for _, limit := range []int64{0, 1 << 20} {
		d := device(t)
		if limit > 0 {
			d = smallBuffers{d, limit}
		}
		m := deviceModelOn(t, d, weights.Int8)
		s, err := m.NewSequence()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		logits := make([]float32, V)
		if err := s.Forward(ctx, prompt.ExtIDs, prompt.PositionsTHW, engine.LastLogits, logits); err != nil {
			t.Fatal(err)
		}
		if limit == 0 {
			want = logits
			continue
		}
		e := errStats{minCos: 1}
		e.add(logits, want)
		t.Logf("split at %d bytes vs whole buffers: cosine %.8f max abs %.3g", limit, e.minCos, e.maxAbs)
		if e.maxAbs > 1e-5 {
			t.Errorf("split model differs: max abs %.3g", e.maxAbs)
		}
		next := int32(argmax(logits))
		delta := prompt.PositionsTHW[n-1][0] - int32(n-1)
		for step, w := range g.Greedy.Tokens[:8] {
			if next != w {
				t.Fatalf("greedy step %d: token %d, golden %d", step, next, w)
			}
			p := int32(s.Len()) + delta
			if next, err = s.ForwardPick(ctx, []int32{next}, [][3]int32{{p, p, p}}, engine.Sampling{}, nil, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// greedyCompare continues s greedily from the prediction last (the logits
// after the prompt's last token), picking each token on the device (one id
// per step) and feeding it back as text at index + the prompt's rope
// delta, and compares with the oracle's tokens up to the first step whose
// golden margin is too small for the measured logit error to decide.
func greedyCompare(t *testing.T, s *gpu.Sequence, prompt goldenPrompt, g goldenDecoder, last []float32, logitErr float64, what string) {
	t.Helper()
	ctx := context.Background()
	n := len(prompt.ExtIDs)
	delta := prompt.PositionsTHW[n-1][0] - int32(n-1)
	next := int32(argmax(last))
	bound := 2 * max(logitErr, logitTol)
	compared := 0
	for step, w := range g.Greedy.Tokens {
		if g.Greedy.Top2Margin[step] < bound {
			t.Logf("greedy: stop comparing at step %d (golden margin %.4f < %.4f)", step, g.Greedy.Top2Margin[step], bound)
			break
		}
		if next != w {
			t.Fatalf("greedy step %d: token %d, golden %d; golden %v", step, next, w, g.Greedy.Tokens)
		}
		compared++
		p := int32(s.Len()) + delta
		var err error
		if next, err = s.ForwardPick(ctx, []int32{next}, [][3]int32{{p, p, p}}, engine.Sampling{}, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s greedy: %d/%d tokens identical to the oracle", what, compared, len(g.Greedy.Tokens))
	if compared < len(g.Greedy.Tokens)/2 {
		t.Errorf("only %d greedy tokens compared", compared)
	}
}
