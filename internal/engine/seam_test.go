package engine

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/vlmrt/vlmrt/internal/weights"
)

// pickingBackend wraps the CPU backend so its sequences pick greedy tokens
// themselves (as a GPU does on the device): the session's TokenPicker path.
type pickingBackend struct {
	*CPU
	picks *int
}

func (b pickingBackend) NewSequence(ctx context.Context) (Sequence, error) {
	s, err := b.CPU.NewSequence(ctx)
	return &pickingSequence{Sequence: s, logits: make([]float32, b.Info().Vocab), picks: b.picks}, err
}

type pickingSequence struct {
	Sequence
	logits []float32
	picks  *int
}

func (s *pickingSequence) CanPick(o Sampling) bool {
	return o.Temperature == 0 && (o.RepeatPenalty == 0 || o.RepeatPenalty == 1)
}

func (s *pickingSequence) ForwardPick(ctx context.Context, ids []int32, positions [][3]int32, _ Sampling, _ []int32, _ float64) (int32, error) {
	if err := s.Forward(ctx, ids, positions, LastLogits, s.logits); err != nil {
		return 0, err
	}
	*s.picks++
	return Argmax(s.logits), nil
}

// TestTokenPickerPath: a backend that picks tokens itself gives the tokens
// of the host sampler (greedy), and the session lets it pick every decode
// step; with settings it cannot honour, the host samples.
func TestTokenPickerPath(t *testing.T) {
	var in goldenInputs
	readJSON(t, tinyA+"/golden/inputs.json", &in)
	e := tinyEngine(t, weights.Int8)
	input := Input{IDs: in.Prompts["image"].IDs, Images: []*Image{imageFromFile(t, e, tinyA+"/golden/image1.png")}}
	want, _ := generate(t, e.NewSession(), input, Options{MaxTokens: 12})

	picks := 0
	pe, err := New(e.Config, nil, pickingBackend{CPU: e.CPU(), picks: &picks}, e.ContextLength)
	if err != nil {
		t.Fatal(err)
	}
	pe.EOS = e.EOS
	got, st := generate(t, pe.NewSession(), input, Options{MaxTokens: 12})
	if !slices.Equal(got, want) {
		t.Fatalf("picking backend tokens %v, host sampler %v", got, want)
	}
	if picks != st.GeneratedTokens-1 {
		t.Fatalf("the backend picked %d of %d decode steps", picks, st.GeneratedTokens-1)
	}
	picks = 0
	generate(t, pe.NewSession(), input, Options{MaxTokens: 4, Sampling: Sampling{Temperature: 0.7, Seed: 1}})
	if picks != 0 {
		t.Fatalf("the backend picked %d tokens with settings it cannot honour", picks)
	}
	// A turn reporting logprobs needs every step's logits: the host picks,
	// the same tokens, and every token carries its logprobs.
	var toks []Token
	if _, err := pe.NewSession().Generate(context.Background(), input, Options{MaxTokens: 12, Logprobs: true, TopLogprobs: 3}, func(tok Token) bool {
		toks = append(toks, tok)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if picks != 0 {
		t.Fatalf("the backend picked %d tokens of a turn with logprobs", picks)
	}
	for i, tok := range toks {
		if tok.ID != want[i] || len(tok.Top) != 3 || tok.Top[0].ID != tok.ID || tok.Top[0].Logprob != tok.Logprob || tok.Logprob > 0 {
			t.Fatalf("token %d: %+v, want id %d with itself the most likely of 3", i, tok, want[i])
		}
	}
}

// TestCPUStepBatch: the CPU backend's BatchStepper advances two sequences
// (one holding an image) by one token each, with the tokens each gets from
// its own Forward, and refuses a sequence of another backend.
func TestCPUStepBatch(t *testing.T) {
	var in goldenInputs
	readJSON(t, tinyA+"/golden/inputs.json", &in)
	e := tinyEngine(t, weights.Int8)
	ctx := context.Background()
	be := e.CPU()
	img := imageFromFile(t, e, tinyA+"/golden/image1.png")
	v := be.Info().Vocab

	// Two sessions prefill their prompts; their sequences then step.
	var seqs []Sequence
	var next []int32
	var pos []int32
	for _, in := range []Input{{IDs: in.Prompts["image"].IDs, Images: []*Image{img}}, {IDs: in.Prompts["text"].IDs}} {
		s := e.NewSession()
		toks, _ := generate(t, s, in, Options{MaxTokens: 1})
		seqs, next, pos = append(seqs, s.seq), append(next, toks[0]), append(pos, s.rope.Next)
	}
	// A twin of each sequence steps alone, for reference.
	var twins []Sequence
	for i, in := range []Input{{IDs: in.Prompts["image"].IDs, Images: []*Image{img}}, {IDs: in.Prompts["text"].IDs}} {
		s := e.NewSession()
		generate(t, s, in, Options{MaxTokens: 1})
		if s.seq.Len() != seqs[i].Len() {
			t.Fatal("twin sessions differ")
		}
		twins = append(twins, s.seq)
	}
	logits := make([]float32, 2*v)
	alone := make([]float32, v)
	for step := 0; step < 4; step++ {
		steps := make([]Step, len(seqs))
		for i := range seqs {
			steps[i] = Step{Seq: seqs[i], ID: next[i], Pos: [3]int32{pos[i], pos[i], pos[i]}}
		}
		if err := be.StepBatch(ctx, steps, logits); err != nil {
			t.Fatal(err)
		}
		for i := range seqs {
			if err := twins[i].Forward(ctx, []int32{steps[i].ID}, [][3]int32{steps[i].Pos}, LastLogits, alone); err != nil {
				t.Fatal(err)
			}
			if got, want := Argmax(logits[i*v:(i+1)*v]), Argmax(alone); got != want {
				t.Fatalf("step %d, sequence %d: batched token %d, alone %d", step, i, got, want)
			}
			if seqs[i].Len() != twins[i].Len() {
				t.Fatalf("sequence %d holds %d tokens batched, %d alone", i, seqs[i].Len(), twins[i].Len())
			}
			next[i], pos[i] = Argmax(alone), pos[i]+1
		}
	}
	foreign := &pickingSequence{Sequence: seqs[0]}
	if err := be.StepBatch(ctx, []Step{{Seq: foreign, ID: 1}}, logits); err == nil {
		t.Fatal("StepBatch accepted a sequence of another backend")
	}
}

// TestTruncateDropsImages: a failed turn's images leave the sequence with
// its tokens, so the next image takes the same slots.
func TestTruncateDropsImages(t *testing.T) {
	e := tinyEngine(t, weights.Int8)
	ctx := context.Background()
	img := imageFromFile(t, e, tinyA+"/golden/image1.png")
	seq, err := e.Backend.NewSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer seq.Close()
	for want := range 2 {
		first, err := seq.AddImage(ctx, img.Handle)
		if err != nil || first != 0 {
			t.Fatalf("AddImage %d: first slot %d, %v; want 0", want, first, err)
		}
		if err := seq.Truncate(seq.Len()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := seq.AddImage(ctx, fakeHandle{}); !errors.Is(err, ErrUnsupportedInput) {
		t.Fatalf("AddImage of a foreign handle: %v", err)
	}
}

type fakeHandle struct{}

func (fakeHandle) Tokens() int { return 196 }
func (fakeHandle) Release()    {}

// TestBatcherMatchesGenerate: three conversations (an image prompt, a text
// prompt, a two-turn one) decoded together by a Batcher — one batched pass
// per step on the CPU — give the tokens, finish reasons and conversation
// each gets from Generate alone; a turn that ends early leaves the batch
// while the others go on.
func TestBatcherMatchesGenerate(t *testing.T) {
	var in goldenInputs
	readJSON(t, tinyA+"/golden/inputs.json", &in)
	e := tinyEngine(t, weights.Int8)
	ctx := context.Background()
	img := imageFromFile(t, e, tinyA+"/golden/image1.png")
	inputs := []Input{{IDs: in.Prompts["image"].IDs, Images: []*Image{img}}, {IDs: in.Prompts["text"].IDs}, {IDs: in.Prompts["multiturn"].IDs, Images: []*Image{imageFromFile(t, e, tinyA+"/golden/image2.png")}}}
	opts := []Options{{MaxTokens: 10}, {MaxTokens: 4}, {MaxTokens: 7}}
	if len(in.Prompts["multiturn"].IDs) == 0 {
		t.Fatal("no multiturn prompt")
	}
	var want [][]int32
	var wantHist [][]int32
	for i := range inputs {
		s := e.NewSession()
		got, _ := generate(t, s, inputs[i], opts[i])
		want, wantHist = append(want, got), append(wantHist, s.History())
	}

	sessions := make([]*Session, len(inputs))
	turns := make([]*Turn, len(inputs))
	got := make([][]int32, len(inputs))
	for i := range inputs {
		sessions[i] = e.NewSession()
		var err error
		if turns[i], err = sessions[i].Start(ctx, inputs[i], opts[i]); err != nil {
			t.Fatal(err)
		}
	}
	b := e.NewBatcher()
	for steps := 0; ; steps++ {
		live := 0
		for i, tr := range turns {
			if tr.Done() {
				continue
			}
			tok, err := tr.Emit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = append(got[i], tok.ID)
			if !tok.End {
				live++
			}
		}
		if live == 0 {
			break
		}
		if err := b.Step(ctx, turns); err != nil {
			t.Fatal(err)
		}
		if steps > 20 {
			t.Fatal("the batch never ended")
		}
	}
	for i := range inputs {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("conversation %d: batched %v, alone %v", i, got[i], want[i])
		}
		if !slices.Equal(sessions[i].History(), wantHist[i]) {
			t.Errorf("conversation %d: the batched conversation differs from the one Generate leaves", i)
		}
		if st := turns[i].Stats(); st.GeneratedTokens != len(want[i]) || st.FinishReason == "" {
			t.Errorf("conversation %d: stats %+v", i, st)
		}
	}
	// The conversations continue normally after a batched turn.
	for i, s := range sessions {
		if _, err := s.Generate(ctx, Input{IDs: in.Prompts["text"].IDs}, Options{MaxTokens: 2}, func(Token) bool { return true }); err != nil {
			t.Errorf("conversation %d: a turn after the batch: %v", i, err)
		}
	}
}
