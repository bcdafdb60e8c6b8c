package decoder

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
)

// TestLadder climbs the golden ladder for every prompt, in f32 mode against
// the fp oracle and in int8 mode against the fake-quant oracle: ids and
// positions, hidden states at the recorded positions, teacher-forced logits
// (S=1 prefill), the greedy continuation, and batched prefill against S=1.
func TestLadder(t *testing.T) {
	in := loadInputs(t)
	for _, p := range []weights.Precision{weights.F32, weights.Int8} {
		mode := modeOf(p)
		m := tinyA(t, p)
		gold := loadDecoderGolden(t, mode)
		for _, name := range []string{"image", "text", "multiturn"} {
			t.Run(mode+"/"+name, func(t *testing.T) {
				prompt, ok := in.Prompts[name]
				if !ok {
					t.Fatalf("inputs.json has no prompt %q", name)
				}
				g := gold[name]
				if g.NumTokens != len(prompt.IDs) || len(g.Argmax) != len(prompt.IDs) {
					t.Fatalf("golden %s has %d tokens / %d argmax, prompt %d", name, g.NumTokens, len(g.Argmax), len(prompt.IDs))
				}
				ladder(t, m, mode, name, prompt, g)
			})
		}
	}
}

func ladder(t *testing.T, m *Model, mode, name string, prompt goldenPrompt, g goldenDecoder) {
	ctx := context.Background()
	V := m.Vocab()
	n := len(prompt.IDs)

	// Rung 1: extension ids, rope shift and positions, exactly.
	ext, first, pads := mrope.ExtensionIDs(prompt.IDs, imagePad, V)
	if !slices.Equal(ext, prompt.ExtIDs) {
		t.Fatalf("extension ids differ from the golden ext_ids")
	}
	st := TextOnly()
	if prompt.Image != nil {
		st = imageStatic(t, *prompt.Image, first)
		start, amount := mrope.RopeShift(first, pads, 14, 14)
		if start != st.RopeShiftStart || amount != st.RopeShiftAmount {
			t.Fatalf("RopeShift (%d, %d) disagrees with the Static (%d, %d)", start, amount, st.RopeShiftStart, st.RopeShiftAmount)
		}
	}
	if st.RopeShiftStart != prompt.RopeShiftStart || st.RopeShiftAmount != prompt.RopeShiftAmount {
		t.Fatalf("rope shift (%d, %d), golden (%d, %d)", st.RopeShiftStart, st.RopeShiftAmount, prompt.RopeShiftStart, prompt.RopeShiftAmount)
	}
	pos, err := m.Positions(ext, 0, st)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pos, prompt.PositionsTHW) {
		t.Fatalf("self-located positions differ from the golden positions_thw")
	}

	// S=1 prefill: one token per Forward, recording the hidden states.
	gf := tensorFile(t, "decoder_"+mode+".safetensors")
	if rp := i32(t, gf, name+".record_positions"); !slices.Equal(toInts(rp), prompt.RecordPositions) {
		t.Fatalf("record_positions %v, inputs.json %v", rp, prompt.RecordPositions)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	rec := newRecorder(prompt.RecordPositions, m.Hidden())
	fin := newRecorder(all, m.Hidden())
	c := m.NewCache()
	c.Tracer = tracers{rec, fin}
	logits := make([]float32, V)
	const keep = 9 // last rows kept to compare with batched prefill
	s1Last := make([]float32, keep*V)
	top1 := newErrStats()
	mismatches, checked := 0, 0
	for i := 0; i < n; i++ {
		if err := m.Forward(ctx, c, ext[i:i+1], nil, st, LastLogits, logits); err != nil {
			t.Fatal(err)
		}
		if i >= n-keep {
			copy(s1Last[(i-n+keep)*V:], logits)
		}
		// The oracle's top-5 logits at every position.
		for k, id := range g.Top5IDs[i] {
			top1.maxAbs = max(top1.maxAbs, math.Abs(float64(logits[id])-g.Top5Logits[i][k]))
		}
		arg, _ := argmaxTop2(logits)
		if int32(arg) != g.Argmax[i] {
			if g.Top2Margin[i] >= healthyMargin {
				t.Errorf("position %d: argmax %d, golden %d (margin %.4f)", i, arg, g.Argmax[i], g.Top2Margin[i])
			}
			mismatches++
		}
		if g.Top2Margin[i] >= healthyMargin {
			checked++
		}
	}
	t.Logf("%s/%s teacher-forced: top-5 logits max abs %.3g over %d positions; argmax checked at %d (margin ≥ %.1f), %d differ in all",
		mode, name, top1.maxAbs, n, checked, healthyMargin, mismatches)
	if top1.maxAbs > logitTol {
		t.Errorf("top-5 logits max abs %.3g > %g", top1.maxAbs, logitTol)
	}

	// Rung 2: hidden states at the recorded positions.
	stages := []string{"inputs_embeds"}
	for l := 0; l < m.Layers(); l++ {
		stages = append(stages, stageName(LayerOut, l), stageName(LayerPostDeepstack, l))
	}
	stages = append(stages, "final_norm")
	for _, s := range stages {
		want := f32(t, gf, name+"."+s)
		got := rec.got[s]
		if len(got) != len(want) {
			t.Fatalf("%s: recorded %d values, golden %d", s, len(got), len(want))
		}
		e := newErrStats()
		for r := 0; r < rec.rows; r++ {
			e.add(got[r*m.Hidden():(r+1)*m.Hidden()], want[r*m.Hidden():(r+1)*m.Hidden()])
		}
		t.Logf("%s/%s %-16s cosine %.8f max abs %.3g", mode, name, s, e.minCos, e.maxAbs)
		if e.minCos < minCosine {
			t.Errorf("%s: cosine %.8f < %g", s, e.minCos, minCosine)
		}
	}

	// Rung 3: full logits rows.
	fullPos := g.FullLogitsPositions
	want := f32(t, gf, name+".logits_last")
	if len(want) != len(fullPos)*V {
		t.Fatalf("logits_last has %d values for positions %v", len(want), fullPos)
	}
	le := newErrStats()
	for r, p := range fullPos {
		if p < n-keep {
			t.Fatalf("golden full logits at position %d, only the last %d kept", p, keep)
		}
		le.add(s1Last[(p-n+keep)*V:(p-n+keep+1)*V], want[r*V:(r+1)*V])
	}
	t.Logf("%s/%s logits_last rows %v: cosine %.8f max abs %.3g", mode, name, fullPos, le.minCos, le.maxAbs)
	if le.maxAbs > logitTol {
		t.Errorf("logits_last max abs %.3g > %g", le.maxAbs, logitTol)
	}
	measured := max(le.maxAbs, top1.maxAbs)

	// Rung 4: batched prefill in three chunks (cache + new causal attention)
	// against S=1: final norm at every position and the last logits rows.
	bfin := newRecorder(all, m.Hidden())
	bc := m.NewCache()
	bc.Tracer = bfin
	cut1, cut2 := n/2, n-keep+1
	if err := m.Forward(ctx, bc, ext[:cut1], nil, st, NoLogits, nil); err != nil {
		t.Fatal(err)
	}
	blog := make([]float32, keep*V)
	if err := m.Forward(ctx, bc, ext[cut1:cut2], nil, st, LastLogits, blog); err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(ctx, bc, ext[cut2:], nil, st, AllLogits, blog[V:]); err != nil {
		t.Fatal(err)
	}
	if bc.Len() != n {
		t.Fatalf("batched cache holds %d tokens, want %d", bc.Len(), n)
	}
	he, be := newErrStats(), newErrStats()
	fn := fin.got["final_norm"]
	bfn := bfin.got["final_norm"]
	for i := 0; i < n; i++ {
		he.add(bfn[i*m.Hidden():(i+1)*m.Hidden()], fn[i*m.Hidden():(i+1)*m.Hidden()])
	}
	be.add(blog, s1Last)
	t.Logf("%s/%s batched vs S=1: final_norm (all %d positions) cosine %.8f max abs %.3g; logits (last %d rows) max abs %.3g",
		mode, name, n, he.minCos, he.maxAbs, keep, be.maxAbs)
	if he.minCos < minCosine || be.maxAbs > batchTol {
		t.Errorf("batched prefill differs from S=1: hidden cosine %.8f, logits max abs %.3g > %g", he.minCos, be.maxAbs, batchTol)
	}

	// Rung 5: greedy continuation on the S=1 cache.
	c.Tracer = nil
	greedyCompare(t, m, c, st, logits, nil, 0, g.Greedy.Tokens, g.Greedy.Top2Margin, measured)
}

// batchTol bounds S=1 vs batched logits: the same math, so only float32
// summation order may differ between the two paths.
const batchTol = 1e-4

// greedyCompare generates len(want) tokens greedily from logits (the
// prediction after the cache's last token), feeding each back as text, and
// compares them with want up to the first step whose golden margin is too
// small for the engine's error to decide. explicit != nil means positions are
// passed explicitly: index + delta on all three axes.
func greedyCompare(t *testing.T, m *Model, c *Cache, st *Static, logits []float32, explicit [][3]int32, delta int32, want []int32, margins []float64, measured float64) {
	t.Helper()
	ctx := context.Background()
	// Two logits each off by up to the bound can swap a pair whose gap is
	// below twice the bound; the ladder enforces error ≤ logitTol.
	bound := 2 * max(measured, logitTol)
	compared := 0
	for step := range want {
		tok, _ := argmaxTop2(logits)
		if margins[step] < bound {
			t.Logf("greedy: stop comparing at step %d (golden margin %.4f < %.4f)", step, margins[step], bound)
			break
		}
		if int32(tok) != want[step] {
			t.Fatalf("greedy step %d: token %d, golden %d (golden margin %.4f); golden %v", step, tok, want[step], margins[step], want)
		}
		compared++
		var pos [][3]int32
		if explicit != nil {
			p := int32(c.Len()) + delta
			explicit[0] = [3]int32{p, p, p}
			pos = explicit[:1]
		}
		if err := m.Forward(ctx, c, []int32{int32(tok)}, pos, st, LastLogits, logits); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("greedy: %d/%d tokens identical to the oracle", compared, len(want))
}

// tracers fans a trace out to several tracers.
type tracers []Tracer

func (ts tracers) Trace(stage Stage, layer, index int, h []float32) {
	for _, t := range ts {
		t.Trace(stage, layer, index, h)
	}
}

func toInts(v []int32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}
