package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	goruntime "runtime"
)

// TestShapesMatchDesignTable checks each synthesized config against the
// docs/design.md §1 architecture table, typed in here independently.
func TestShapesMatchDesignTable(t *testing.T) {
	type row struct {
		layers, hidden, heads, kv, headDim, inter int
		tied                                      bool
		vDepth, vHidden, vHeads                   int
		deepstack                                 []int
	}
	table := map[string]row{
		"2b": {28, 2048, 16, 8, 128, 6144, true, 24, 1024, 16, []int{5, 11, 17}},
		"4b": {36, 2560, 32, 8, 128, 9728, true, 24, 1024, 16, []int{5, 11, 17}},
		"8b": {36, 4096, 32, 8, 128, 12288, false, 27, 1152, 16, []int{8, 16, 24}},
	}
	for name, want := range table {
		cfg, err := Shape(strings.ToUpper(name)) // names are case-insensitive
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tx, v := cfg.Text, cfg.Vision
		got := row{tx.NumLayers, tx.HiddenSize, tx.NumHeads, tx.NumKVHeads, tx.HeadDim, tx.IntermediateSize, cfg.TieWordEmbeddings,
			v.Depth, v.HiddenSize, v.NumHeads, v.DeepstackIndexes}
		if !equalRow(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
		if tx.VocabSize != 151936 || tx.RopeTheta != 5e6 || tx.RMSNormEps != 1e-6 || !tx.MRopeInterleaved ||
			len(tx.MRopeSection) != 3 || tx.MRopeSection[0] != 24 || tx.MRopeSection[1] != 20 || tx.MRopeSection[2] != 20 {
			t.Errorf("%s: shared text constants wrong: %+v", name, tx)
		}
		if v.PatchSize != 16 || v.TemporalPatchSize != 2 || v.SpatialMergeSize != 2 || v.NumPositionEmbeddings != 2304 ||
			v.LayerNormEps != 1e-6 || v.OutHiddenSize != tx.HiddenSize {
			t.Errorf("%s: shared vision constants wrong: %+v", name, v)
		}
	}
	if _, err := Shape("3b"); err == nil || !strings.Contains(err.Error(), `"3b"`) {
		t.Errorf("unknown shape: got %v, want an error naming it", err)
	}
}

func equalRow(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestDecoderBytes4B: the int8 body and head the 4B decode reads, from the
// planned tensors, equal the count done by hand: 36 layers of
// 2560·(4096+1024+1024+4096+3·9728) int8 weights plus the 151936×2560 head,
// and one float16 scale per 32 weights.
func TestDecoderBytes4B(t *testing.T) {
	cfg, err := Shape("4b")
	if err != nil {
		t.Fatal(err)
	}
	var q8, scales int64
	for _, p := range plan(cfg, false) {
		n := int64(p.dtype.Size())
		for _, d := range p.shape {
			n *= int64(d)
		}
		switch {
		case p.dtype == safetensors.I8:
			q8 += n
		case p.fill == fillScale:
			scales += n
		}
	}
	wantQ8 := int64(36)*2560*(4096+1024+1024+4096+3*9728) + 151936*2560
	if q8 != wantQ8 || scales != wantQ8/32*2 {
		t.Errorf("int8 bytes %d, scale bytes %d; want %d and %d", q8, scales, wantQ8, wantQ8/16)
	}
	if total := q8 + scales; total < 4.25e9 || total > 4.3e9 {
		t.Errorf("4B decode bytes %d, issue 6 says about 4.27 GB", total)
	}
}

// TestVisionFLOPs4B: issue 6 puts the 4B tower at about 579 GFLOP for one
// 448×448 image (28×28 patches).
func TestVisionFLOPs4B(t *testing.T) {
	cfg, err := Shape("4b")
	if err != nil {
		t.Fatal(err)
	}
	if g := VisionFLOPs(cfg, 28, 28) / 1e9; g < 575 || g > 583 {
		t.Errorf("4B vision tower: %.1f GFLOP, want about 579", g)
	}
	// Prefill: the linears dominate (2 FLOPs per int8 weight per token).
	perToken := PrefillFLOPs(cfg, 211) / 211
	linear := 2 * float64(36*2560*(4096+1024+1024+4096+3*9728))
	if perToken < linear || perToken > 1.2*linear {
		t.Errorf("prefill %.3g FLOP/token, linears alone %.3g", perToken, linear)
	}
}

func tinySource(t *testing.T, seed uint64) (*config.Model, weights.MapSource) {
	t.Helper()
	cfg, err := Shape("tiny")
	if err != nil {
		t.Fatal(err)
	}
	src, err := RandomSource(context.Background(), cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, src
}

// tinyEngine loads tinySource's model (seed 5) into a CPU engine.
func tinyEngine(t *testing.T) (*config.Model, *engine.Engine) {
	t.Helper()
	cfg, src := tinySource(t, 5)
	e, err := engine.NewEngine(context.Background(), src, cfg, nil, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, e
}

// TestRandomSource: seeded (same seed, same bytes; other seed, other
// bytes), int8 within ±127 with the intended spread, scales and float16
// weights of realistic magnitude, and every tensor the loaders bind.
func TestRandomSource(t *testing.T) {
	cfg, a := tinySource(t, 7)
	_, b := tinySource(t, 7)
	_, c := tinySource(t, 8)
	const q = "model.language_model.layers.2.mlp.down_proj.weight"
	if !bytes.Equal(a[q].Data, b[q].Data) {
		t.Error("same seed gave different weights")
	}
	if bytes.Equal(a[q].Data, c[q].Data) {
		t.Error("different seeds gave the same weights")
	}
	if bytes.Equal(a[q].Data, a["model.language_model.layers.3.mlp.down_proj.weight"].Data) {
		t.Error("two tensors of one seed are identical")
	}

	head := a["lm_head.weight"]
	vals, err := head.Int8s()
	if err != nil {
		t.Fatal(err)
	}
	var sum, sq float64
	for _, v := range vals {
		if v < -127 {
			t.Fatalf("int8 value %d outside ±127", v)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(vals))
	if mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n)); math.Abs(mean) > 1 || math.Abs(std-q8Std)/q8Std > 0.05 {
		t.Errorf("int8 mean %.2f std %.2f, want ~0 and ~%.1f", mean, std, q8Std)
	}
	sc, _ := a["lm_head.weight.scales"].Uint16s()
	if s := f16.ToF32(sc[0]); math.Abs(float64(s)-0.06/127) > 1e-6 {
		t.Errorf("scale %v, want about 3·0.02/127", s)
	}
	emb, err := a["model.language_model.embed_tokens.weight"].Float32s()
	if err != nil {
		t.Fatal(err)
	}
	sq = 0
	for _, v := range emb {
		sq += float64(v) * float64(v)
	}
	if std := math.Sqrt(sq / float64(len(emb))); math.Abs(std-weightStd)/weightStd > 0.05 {
		t.Errorf("embedding std %.4f, want ~%.2f", std, weightStd)
	}

	// Everything binds, and the linears are mapped, not requantized.
	e, err := engine.NewEngine(context.Background(), a, cfg, nil, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for name, tn := range a {
		if tn.DType == safetensors.I8 || strings.HasSuffix(name, weights.ScalesSuffix) {
			want += int64(len(tn.Data))
		}
	}
	if got := e.CPU().Decoder.WeightBytes(); got != want {
		t.Errorf("decoder reads %d bytes per token, the int8 tensors hold %d", got, want)
	}
}

func TestRandomSourceCancelled(t *testing.T) {
	cfg, _ := Shape("tiny")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RandomSource(ctx, cfg, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// tinyOptions keep the package's tests to seconds.
func tinyOptions() Options {
	return Options{Shape: "tiny", BandwidthBytes: 16 << 20, Seed: 3}
}

// TestRunTiny: one full run gives every required key, positive numbers and
// the derived quantities by their formulas.
func TestRunTiny(t *testing.T) {
	var stages []string
	res, err := Run(context.Background(), tinyOptions(), func(s string) { stages = append(stages, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) < len(Steps()) {
		t.Errorf("progress reported %d stages: %q", len(stages), stages)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"read_bandwidth_gbs", "decode_tok_s", "bytes_per_token", "decode_bandwidth_ratio",
		"prefill_tok_s", "prefill_s1_tok_s", "vision_ms", "threads", "vision_gflop", "vision_gflops", "prefill_gflop_per_token",
		"peak_gflops", "prefill_peak_ratio", "vision_peak_ratio"} {
		v, ok := m[k].(float64)
		if !ok || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive number", k, m[k])
		}
	}
	if res.Threads != goruntime.GOMAXPROCS(0) {
		t.Errorf("threads %d, want GOMAXPROCS %d", res.Threads, goruntime.GOMAXPROCS(0))
	}
	if res.ReadBandwidthBeforeGBs <= 0 || res.ReadBandwidthAfterGBs <= 0 || res.ReadBandwidthGBs != max(res.ReadBandwidthBeforeGBs, res.ReadBandwidthAfterGBs) {
		t.Errorf("bandwidth %v, want the better of the probes before (%v) and after decode (%v)",
			res.ReadBandwidthGBs, res.ReadBandwidthBeforeGBs, res.ReadBandwidthAfterGBs)
	}
	// The tiny model fits the caches: its weights are not probed, and the
	// bandwidth ratio is decode's over the fresh buffer's.
	want := float64(res.BytesPerToken) * res.DecodeTokS / (res.ReadBandwidthGBs * 1e9)
	if math.Abs(res.DecodeBandwidthRatio-want) > 1e-12*want || res.DecodeProbeRatio != res.DecodeBandwidthRatio {
		t.Errorf("decode_bandwidth_ratio %v and decode_probe_ratio %v, formula gives %v", res.DecodeBandwidthRatio, res.DecodeProbeRatio, want)
	}
	if res.WeightsReadGBs != 0 || res.DecodeWeightsRatio != 0 || res.WeightsPassGBs != 0 || res.DecodeTokenGBs != 0 {
		t.Errorf("weights of a cache-sized model probed: %v GB/s, ratio %v; paired passes %v GB/s, steps %v GB/s",
			res.WeightsReadGBs, res.DecodeWeightsRatio, res.WeightsPassGBs, res.DecodeTokenGBs)
	}
	// The embedding is float16: one row of hidden values is read per token.
	if res.BytesPerToken != res.DecoderWeightBytes+2*64 {
		t.Errorf("bytes per token %d, want decoder weights %d + one f16 row of 64", res.BytesPerToken, res.DecoderWeightBytes)
	}
	if res.PrefillTokens != 211 || res.ImageTokens != 196 || res.PrefillS1Tokens != 32 || res.DecodeTokens != 32 || res.VisionPatches != 784 {
		t.Errorf("sizes: prefill %d (image %d), S=1 %d, decode %d, patches %d; want 211 (196), 32, 32, 784",
			res.PrefillTokens, res.ImageTokens, res.PrefillS1Tokens, res.DecodeTokens, res.VisionPatches)
	}
	if res.PrefillPeakRatio != res.PrefillGFLOPs/res.PeakGFLOPs || res.VisionPeakRatio != res.VisionGFLOPs/res.PeakGFLOPs || res.PeakPath != kernels.PeakPath() {
		t.Errorf("peak %v GFLOP/s (%s): ratios %v, %v do not follow from prefill %v and vision %v GFLOP/s",
			res.PeakGFLOPs, res.PeakPath, res.PrefillPeakRatio, res.VisionPeakRatio, res.PrefillGFLOPs, res.VisionGFLOPs)
	}
	if res.BatchDecode != nil {
		t.Errorf("batched decode measured without Options.Batch: %+v", res.BatchDecode)
	}
	// Vision and prefill ran Runs (default 3) times; the best is reported.
	if res.Runs != DefaultRuns || len(res.VisionMsRuns) != res.Runs || len(res.PrefillTokSRuns) != res.Runs ||
		res.VisionMs != slices.Min(res.VisionMsRuns) || res.PrefillTokS != slices.Max(res.PrefillTokSRuns) {
		t.Errorf("runs %d: vision %v ms of %v, prefill %v tok/s of %v; want the best of %d each",
			res.Runs, res.VisionMs, res.VisionMsRuns, res.PrefillTokS, res.PrefillTokSRuns, DefaultRuns)
	}
	if g := res.VisionGFLOP / (res.VisionMs / 1e3); math.Abs(g-res.VisionGFLOPs) > 1e-9*g {
		t.Errorf("vision GFLOP/s %v, GFLOP over seconds gives %v", res.VisionGFLOPs, g)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"read bandwidth", "FMA peak", "decode", "bytes per token", "decode bandwidth ratio", "prefill (batched)", "prefill (S=1)", "vision encode", "of peak"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
}

// TestRunSkip: skipped measurements are 0 and absent from the table;
// without the vision tower, prefill runs on random image embeddings.
func TestRunSkip(t *testing.T) {
	opt := tinyOptions()
	opt.Skip = []string{StepVision, StepBandwidth, StepDecode}
	opt.Threads = 1
	res, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.VisionMs != 0 || res.ReadBandwidthGBs != 0 || res.DecodeTokS != 0 || res.DecodeBandwidthRatio != 0 {
		t.Errorf("skipped measurements are not 0: %+v", res)
	}
	if res.PrefillTokS <= 0 || res.PrefillS1TokS <= 0 {
		t.Errorf("prefill not measured: %+v", res)
	}
	if res.Threads != 1 {
		t.Errorf("threads %d, want 1", res.Threads)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	if strings.Contains(table.String(), "vision encode") || strings.Contains(table.String(), "read bandwidth") {
		t.Errorf("table shows skipped rows:\n%s", table.String())
	}
}

// TestRunProbeWithoutDecode: without decode the bandwidth is probed once,
// before loading.
func TestRunProbeWithoutDecode(t *testing.T) {
	opt := tinyOptions()
	opt.Skip = []string{StepVision, StepDecode, StepPrefillS1, StepPrefill}
	res, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReadBandwidthGBs <= 0 || res.ReadBandwidthGBs != res.ReadBandwidthBeforeGBs || res.ReadBandwidthAfterGBs != 0 || res.DecodeBandwidthRatio != 0 {
		t.Errorf("bandwidth %v (before %v, after %v), ratio %v; want one probe and no ratio",
			res.ReadBandwidthGBs, res.ReadBandwidthBeforeGBs, res.ReadBandwidthAfterGBs, res.DecodeBandwidthRatio)
	}
}

// TestRunBatch: --batch measures B = 1 (the base) and every size asked,
// in order, with ratios to B = 1, in the JSON and the table.
// The decoder's own weights are probed beside the fresh buffer, before and
// after decode, and decode_weights_ratio follows from the better probe;
// a pass over them runs between every two decode steps, and
// decode_bandwidth_ratio is the median step over the median pass.
func TestRunWeightsProbe(t *testing.T) {
	saved := minWeightsProbe
	defer func() { minWeightsProbe = saved }()
	minWeightsProbe = 1 << 20 // the tiny decoder's 10 MB (it reads from cache: only the wiring is tested)
	opt := tinyOptions()
	opt.Skip = []string{StepVision, StepPeak, StepPrefill, StepPrefillS1}
	res, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.WeightsReadBeforeGBs <= 0 || res.WeightsReadAfterGBs <= 0 || res.WeightsReadGBs != max(res.WeightsReadBeforeGBs, res.WeightsReadAfterGBs) {
		t.Errorf("weights read %v, want the better of the probes before (%v) and after decode (%v)",
			res.WeightsReadGBs, res.WeightsReadBeforeGBs, res.WeightsReadAfterGBs)
	}
	want := float64(res.BytesPerToken) * res.DecodeTokS / (res.WeightsReadGBs * 1e9)
	if !(want > 0) || math.Abs(res.DecodeWeightsRatio-want) > 1e-12*want {
		t.Errorf("decode_weights_ratio %v, formula gives %v", res.DecodeWeightsRatio, want)
	}
	// The bandwidth ratio is then token for pass: the median step over the
	// median pass, both as GB/s; the fresh buffer's ratio is kept beside it.
	if !(res.DecodeTokenGBs > 0) || !(res.WeightsPassGBs > 0) || res.DecodeBandwidthRatio != res.DecodeTokenGBs/res.WeightsPassGBs {
		t.Errorf("decode_bandwidth_ratio %v, want decode_token_gbs %v ÷ weights_pass_gbs %v", res.DecodeBandwidthRatio, res.DecodeTokenGBs, res.WeightsPassGBs)
	}
	probe := float64(res.BytesPerToken) * res.DecodeTokS / (res.ReadBandwidthGBs * 1e9)
	if !(probe > 0) || math.Abs(res.DecodeProbeRatio-probe) > 1e-12*probe {
		t.Errorf("decode_probe_ratio %v, formula gives %v", res.DecodeProbeRatio, probe)
	}
	js, _ := json.Marshal(res)
	for _, k := range []string{`"weights_read_gbs":`, `"weights_read_before_gbs":`, `"weights_read_after_gbs":`, `"decode_weights_ratio":`,
		`"decode_token_gbs":`, `"weights_pass_gbs":`, `"decode_probe_ratio":`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("JSON lacks %s: %s", k, js)
		}
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	if !strings.Contains(table.String(), "weights read") || !strings.Contains(table.String(), "decode / weights read") || !strings.Contains(table.String(), "token for pass") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestRunBatch(t *testing.T) {
	opt := tinyOptions()
	opt.Skip = []string{StepVision, StepBandwidth, StepPeak, StepPrefill, StepPrefillS1}
	opt.Batch, opt.BatchTokens = []int{4, 2, 4}, 3
	res, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BatchDecode) != 3 {
		t.Fatalf("batch results %+v, want B = 1, 2, 4", res.BatchDecode)
	}
	for i, b := range res.BatchDecode {
		want := []int{1, 2, 4}[i]
		if b.B != want || b.Steps != 3 || !(b.TokS > 0) || !(b.StepMs > 0) || b.Ratio != b.TokS/res.BatchDecode[0].TokS {
			t.Errorf("result %d: %+v, want B %d over 3 steps, ratio to B=1", i, b, want)
		}
	}
	if res.PeakGFLOPs != 0 || res.PrefillPeakRatio != 0 {
		t.Errorf("skipped peak measured: %v, %v", res.PeakGFLOPs, res.PrefillPeakRatio)
	}
	js, _ := json.Marshal(res)
	if !strings.Contains(string(js), `"batch_decode":[{"b":1,"steps":3,"tok_s":`) {
		t.Errorf("JSON lacks batch_decode: %s", js)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	if !strings.Contains(table.String(), "batched decode") || !strings.Contains(table.String(), "ratio to B=1") || strings.Contains(table.String(), "FMA peak") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opt  func(*Options)
		want string
	}{
		{func(o *Options) { o.Shape = "13b" }, `"13b"`},
		{func(o *Options) { o.DecodeTokens = 8 }, "decode tokens 8"},
		{func(o *Options) { o.Skip = []string{"audio"} }, `"audio"`},
		{func(o *Options) { o.Threads = -1 }, "threads -1"},
		{func(o *Options) { o.PromptTokens = 100 }, "100-token prompt"},
		{func(o *Options) { o.BandwidthBytes = 1000 }, "1000 bytes"},
		{func(o *Options) { o.S1Tokens = -2 }, "S=1"},
		{func(o *Options) { o.ModelDir = "/nonexistent/model" }, "/nonexistent/model"},
		{func(o *Options) { o.Batch = []int{2, 0} }, "batch size 0"},
		{func(o *Options) { o.BatchTokens = -1 }, "batch tokens -1"},
		{func(o *Options) { o.Runs = -1 }, "prefill runs -1"},
	} {
		opt := tinyOptions()
		opt.Skip = []string{StepBandwidth}
		tc.opt(&opt)
		_, err := Run(context.Background(), opt, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", opt, err, tc.want)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, tinyOptions(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestPrefillS1MatchesSession: the S=1 prefill places and positions the
// prompt exactly as engine.Session does, so over the whole prompt it ends
// with the session's S=1 logits, bit for bit.
func TestPrefillS1MatchesSession(t *testing.T) {
	cfg, e := tinyEngine(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	img := randomImage(e, rng)
	ids, err := promptIDs(cfg, e.CPU().Decoder.Vocab(), img.Tokens(), 211, rng)
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewSession()
	if _, err := s.Generate(ctx, engine.Input{IDs: ids, Images: []*engine.Image{img}}, engine.Options{MaxTokens: 1, S1Prefill: true}, func(engine.Token) bool { return true }); err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, e.CPU().Decoder.Vocab())
	if _, err := prefillS1(ctx, e, ids, img, logits); err != nil {
		t.Fatal(err)
	}
	want := s.LastLogits()
	for i := range logits {
		if logits[i] != want[i] {
			t.Fatalf("logit %d: %v, session gives %v", i, logits[i], want[i])
		}
	}
	// A prefix cut inside the image runs too.
	if _, err := prefillS1(ctx, e, ids[:32], img, logits); err != nil {
		t.Fatal(err)
	}
}

func TestPromptIDs(t *testing.T) {
	cfg, _ := Shape("tiny")
	ids, err := promptIDs(cfg, 151936, 196, 211, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 211 {
		t.Fatalf("%d ids, want 211", len(ids))
	}
	pads := 0
	for _, id := range ids {
		if id == cfg.ImageTokenID {
			pads++
		}
	}
	if pads != 196 || ids[3] != cfg.VisionStartID || ids[4] != cfg.ImageTokenID || ids[200] != cfg.VisionEndID || ids[len(ids)-1] != newline {
		t.Errorf("prompt is not the seed card's layout: %v", ids)
	}
}

// TestDecodeStepsBetween: the between hook runs once after each of the
// first n tokens, before the next step, and its time is no step's: with a
// 200 ms sleep in it every step of the tiny model still times far under
// 200 ms, and the rate is n over the steps' time. A failing hook stops the
// decode with its error.
func TestDecodeStepsBetween(t *testing.T) {
	_, e := tinyEngine(t)
	ctx := context.Background()
	prompt := decodePrompt(e.CPU().Decoder.Vocab(), rand.New(rand.NewPCG(1, 2)))
	const n, pause = 4, 200 * time.Millisecond
	calls := 0
	start := time.Now()
	rate, gaps, err := decodeSteps(ctx, e, prompt, n, func() error {
		calls++
		time.Sleep(pause)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != n || len(gaps) != n {
		t.Fatalf("between ran %d times, %d steps timed; want %d of each", calls, len(gaps), n)
	}
	if took := time.Since(start); took < n*pause {
		t.Fatalf("decode took %v, less than its %d pauses: the hook did not run in line", took, n)
	}
	var total time.Duration
	for i, g := range gaps {
		if g <= 0 || g >= pause {
			t.Errorf("step %d timed %v: a step must not include the hook's %v", i, g, pause)
		}
		total += g
	}
	if want := float64(n) / total.Seconds(); math.Abs(rate-want) > 1e-9*want {
		t.Errorf("rate %v, want n over the steps' time %v", rate, want)
	}

	boom := errors.New("boom")
	if _, _, err := decodeSteps(ctx, e, prompt, n, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("a failing hook: got %v, want its error", err)
	}
}
