package gpu_test

import (
	"context"
	"testing"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

// TestStepBatch: three conversations (text, image, multi-turn) advance
// together through StepBatch, one pass over the weights per step; each
// row's logits equal the sequence's own step and the greedy tokens are the
// oracle's.
func TestStepBatch(t *testing.T) {
	var inputs struct {
		Prompts map[string]goldenPrompt `json:"prompts"`
	}
	readJSON(t, "inputs.json", &inputs)
	var gold struct {
		Prompts map[string]goldenDecoder `json:"prompts"`
	}
	readJSON(t, "decoder_q8.json", &gold)
	ctx := context.Background()
	const V = 151936
	m := deviceModel(t, weights.Int8)
	b := gpu.NewTestBackend(m)
	names := []string{"text", "image", "multiturn"}

	// prefill starts a sequence on a prompt and returns its last logits.
	prefill := func(name string) (*gpu.Sequence, []float32) {
		prompt := inputs.Prompts[name]
		s, err := m.NewSequence()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
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
		logits := make([]float32, V)
		if err := s.Forward(ctx, prompt.ExtIDs, prompt.PositionsTHW, engine.LastLogits, logits); err != nil {
			t.Fatal(err)
		}
		return s, logits
	}
	batched := make([]*gpu.Sequence, len(names))
	solo := make([]*gpu.Sequence, len(names))
	next := make([]int32, len(names))
	for i, name := range names {
		var last []float32
		batched[i], last = prefill(name)
		solo[i], _ = prefill(name)
		next[i] = int32(argmax(last))
	}
	logits := make([]float32, len(names)*V)
	own := make([]float32, V)
	worst := errStats{minCos: 1}
	for step := 0; step < 8; step++ {
		steps := make([]engine.Step, len(names))
		for i, name := range names {
			prompt := inputs.Prompts[name]
			if want := gold.Prompts[name].Greedy.Tokens[step]; next[i] != want {
				t.Fatalf("%s step %d: token %d, golden %d", name, step, next[i], want)
			}
			n := len(prompt.ExtIDs)
			p := int32(batched[i].Len()) + prompt.PositionsTHW[n-1][0] - int32(n-1)
			steps[i] = engine.Step{Seq: batched[i], ID: next[i], Pos: [3]int32{p, p, p}}
		}
		if err := b.StepBatch(ctx, steps, logits); err != nil {
			t.Fatal(err)
		}
		for i := range names {
			st := steps[i]
			if err := solo[i].Forward(ctx, []int32{st.ID}, [][3]int32{st.Pos}, engine.LastLogits, own); err != nil {
				t.Fatal(err)
			}
			worst.add(logits[i*V:(i+1)*V], own)
			next[i] = int32(argmax(logits[i*V : (i+1)*V]))
		}
	}
	t.Logf("batched rows vs each sequence's own step, 8 steps × %d sequences: cosine %.8f max abs %.3g", len(names), worst.minCos, worst.maxAbs)
	if worst.maxAbs > 1e-5 {
		t.Errorf("batched logits differ from the sequences' own: max abs %.3g", worst.maxAbs)
	}
	// Bad batches are errors, not panics, and advance nothing.
	before := batched[0].Len()
	for _, bad := range [][]engine.Step{
		nil,
		{{Seq: batched[0], ID: 1}, {Seq: batched[0], ID: 2}},
		{{Seq: batched[0], ID: -1}},
	} {
		if err := b.StepBatch(ctx, bad, logits); err == nil {
			t.Errorf("StepBatch(%v) succeeded", bad)
		}
	}
	if batched[0].Len() != before {
		t.Errorf("a failed batch advanced a sequence: %d → %d", before, batched[0].Len())
	}
}
