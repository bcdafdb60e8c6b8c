package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/gpu/devices"
	"github.com/vlmrt/vlmrt/internal/kernels"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
	"github.com/vlmrt/vlmrt/vision"
)

// Measurement names, for Options.Skip.
const (
	StepBandwidth = "bandwidth"
	StepVision    = "vision"
	StepPrefill   = "prefill"    // batched prefill of the multimodal prompt
	StepPrefillS1 = "prefill-s1" // the same prompt one token per step
	StepDecode    = "decode"
	StepPeak      = "peak" // the float32 FMA peak probe
)

// Steps lists every measurement, in the order Run performs them.
func Steps() []string {
	return []string{StepBandwidth, StepPeak, StepVision, StepPrefill, StepPrefillS1, StepDecode}
}

// Defaults of Options.
const (
	DefaultShape          = "4b"
	DefaultDecodeTokens   = 32
	DefaultDecodeRuns     = 3
	DefaultRuns           = 3
	DefaultPromptTokens   = 211 // the seed card's prompt: one image (196 tokens) + 15 chat/text tokens
	DefaultS1Tokens       = 32
	DefaultBandwidthBytes = 1 << 30
	// MinDecodeTokens: decode speed is averaged over at least this many steps.
	MinDecodeTokens = 32
)

// Options configures Run. The zero value benchmarks the 4B shape on all cores.
type Options struct {
	// Shape names a synthetic model ("2b", "4b", "8b"); ignored when
	// ModelDir is set.
	Shape string
	// ModelDir benchmarks a real model: a checkpoint or bundle directory
	// (anything bundle.Resolve accepts).
	ModelDir string
	// Threads for the kernels and the bandwidth probe (0 = GOMAXPROCS).
	Threads int
	// DecodeTokens is how many greedy decode steps are timed (0 = 32; at least 32).
	DecodeTokens int
	// DecodeRuns is how many times decode runs, its best rate reported
	// as the bandwidth probe reports its best pass (0 = 3).
	DecodeRuns int
	// Runs is how many times vision and the batched prefill run, each
	// one's best reported as decode's is (0 = 3): a single run of a few
	// seconds on a shared host measures the neighbours as much as the
	// engine.
	Runs int
	// PromptTokens is the multimodal prompt's length: one image's tokens
	// plus chat framing and text (0 = 211).
	PromptTokens int
	// S1Tokens is how many of the prompt's first tokens the S=1 prefill
	// runs, one per step (0 = 32; larger than the prompt = the whole prompt).
	// S=1 prefill runs at decode speed, so a prefix measures it.
	S1Tokens int
	// BandwidthBytes is the read-bandwidth probe's buffer (0 = 1 GiB).
	BandwidthBytes int
	// PrefillChunk is the batched prefill's tokens per pass (0 = the
	// runtime's default).
	PrefillChunk int
	// Seed of the random weights and inputs.
	Seed uint64
	// Skip names measurements not to run (see Steps); their results are 0.
	Skip []string
	// ImageTokens lists native-resolution budgets (max image tokens) at
	// which vision and prefill are measured (see native.go); empty = none.
	ImageTokens []int
	// Backend is the engine measured: "cpu" (default), or "vulkan" or
	// "metal" (the GPU engine on that device; the bandwidth is then the
	// device's, probed by its own kernel).
	Backend string
	// Batch lists batch sizes B (1..64) at which B sequences decode
	// together (see batchDecode; DecodeRuns rounds, each size's best
	// reported); empty = not measured.
	Batch []int
	// BatchTokens is the steps each batch size is timed over (0 = 16).
	BatchTokens int
	// Acts is the CPU decode's activation format (decoder.ActsAuto: the
	// CPU's best, as a model opened by vlmrt runs).
	Acts decoder.Acts
	// CompareActs also measures decode (and Batch) in these formats,
	// alternating with Acts (CPU only; see acts.go).
	CompareActs []decoder.Acts
}

// Result is one benchmark run. The first eight fields are issue 6's
// required keys; the rest explain them. A skipped measurement is 0.
type Result struct {
	ReadBandwidthGBs float64 `json:"read_bandwidth_gbs"`
	DecodeTokS       float64 `json:"decode_tok_s"`
	BytesPerToken    int64   `json:"bytes_per_token"`
	// DecodeBandwidthRatio is decode's fraction of the memory bandwidth.
	// On the CPU with a decoder larger than the caches it is measured
	// token for pass: DecodeTokenGBs (the median step's bytes_per_token
	// over its time) over WeightsPassGBs (the median plain-read pass over
	// the same weight pages), a pass running between every two steps. On
	// this project's virtual machines memory reads at rates up to 1.5×
	// apart from one buffer to another (each keeping its rate, all in
	// huge pages) and the bus's state changes within seconds to minutes,
	// so a fresh buffer probed before and after (DecodeProbeRatio)
	// compares decode with other memory at other times. Elsewhere (a GPU,
	// a cache-sized model) it is DecodeProbeRatio.
	DecodeBandwidthRatio float64 `json:"decode_bandwidth_ratio"`
	PrefillTokS          float64 `json:"prefill_tok_s"`
	PrefillS1TokS        float64 `json:"prefill_s1_tok_s"`
	VisionMs             float64 `json:"vision_ms"`
	Threads              int     `json:"threads"`
	// CPUPath is the kernel path that ran (kernels.Path: avx512vnni, avx512, avxvnni, avx2, neon, generic).
	CPUPath string `json:"cpu_path"`
	// DecodeActs is the decode's activation format (f32, int16, int8:
	// Options.Acts as the CPU resolved it).
	DecodeActs string `json:"decode_acts"`
	// PrefillActs is the batched prefill's activation format (f32, or
	// int16 where decode's is int16 and the path has the int16
	// matrix-matrix kernel; decoder.Model.PrefillActs). With int16,
	// prefill_gflops counts its integer multiply-adds as FLOPs against the
	// float32 peak.
	PrefillActs string `json:"prefill_acts"`
	// Backend is the engine measured; Device what ran it (the CPU path or
	// the GPU's name).
	Backend string `json:"backend"`
	Device  string `json:"device"`
	// DispatchesPerToken is the kernel dispatches of one decode step (GPU
	// backends; one command buffer and one host wait per step).
	DispatchesPerToken int `json:"dispatches_per_token,omitempty"`

	// PeakGFLOPs is the float32 FMA peak of the CPU (kernels.MeasurePeakGFLOPs
	// on all threads, PeakPath's vectors); the ratios are prefill's and
	// vision's GFLOP/s over it.
	PeakGFLOPs       float64 `json:"peak_gflops"`
	PeakPath         string  `json:"peak_path,omitempty"`
	PrefillPeakRatio float64 `json:"prefill_peak_ratio"`
	VisionPeakRatio  float64 `json:"vision_peak_ratio"`
	// BatchDecode is the decode of B sequences stepping together
	// (Options.Batch), aggregate tok/s and its ratio to B = 1.
	BatchDecode []BatchResult `json:"batch_decode,omitempty"`

	// Model is the shape name or the model directory.
	Model string `json:"model"`
	// DecodeTokens were timed after a DecodePromptTokens-token text
	// prompt, DecodeRuns times (the best rate is DecodeTokS).
	DecodeTokens       int `json:"decode_tokens"`
	DecodeRuns         int `json:"decode_runs"`
	DecodePromptTokens int `json:"decode_prompt_tokens"`
	// PrefillTokens: the multimodal prompt (ImageTokens of them image
	// tokens), prefilled in chunks of PrefillChunk (0: the runtime's default).
	// Vision and the batched prefill ran Runs times each: VisionMs and
	// PrefillTokS are the best, VisionMsRuns and PrefillTokSRuns every run
	// in order.
	Runs            int       `json:"runs"`
	VisionMsRuns    []float64 `json:"vision_ms_runs,omitempty"`
	PrefillTokSRuns []float64 `json:"prefill_tok_s_runs,omitempty"`
	PrefillTokens   int       `json:"prefill_tokens"`
	ImageTokens     int       `json:"image_tokens"`
	PrefillChunk    int       `json:"prefill_chunk"`
	// PrefillGFLOPPerToken is PrefillFLOPs of the prompt over its length;
	// PrefillGFLOPs the rate the batched prefill achieved.
	PrefillGFLOPPerToken float64 `json:"prefill_gflop_per_token"`
	PrefillGFLOPs        float64 `json:"prefill_gflops"`
	// PrefillS1Tokens: the prompt prefix the S=1 prefill ran.
	PrefillS1Tokens int `json:"prefill_s1_tokens"`
	// VisionPatches went through the tower: VisionGFLOP of work at VisionGFLOPs.
	VisionPatches int     `json:"vision_patches"`
	VisionGFLOP   float64 `json:"vision_gflop"`
	VisionGFLOPs  float64 `json:"vision_gflops"`
	// DecoderWeightBytes is decoder.Model.WeightBytes (linears and head);
	// BytesPerToken adds the one embedding row a step reads.
	DecoderWeightBytes int64 `json:"decoder_weight_bytes"`
	BandwidthBytes     int   `json:"bandwidth_probe_bytes"`
	// ReadBandwidthBeforeGBs and ReadBandwidthAfterGBs are the probes right
	// before and right after decode (without decode: one probe before
	// loading); ReadBandwidthGBs is the better.
	ReadBandwidthBeforeGBs float64 `json:"read_bandwidth_before_gbs"`
	ReadBandwidthAfterGBs  float64 `json:"read_bandwidth_after_gbs,omitempty"`
	// DecodeProbeRatio is bytes_per_token × decode_tok_s over
	// read_bandwidth_gbs (the fresh buffer's best pass).
	DecodeProbeRatio float64 `json:"decode_probe_ratio"`
	// DecodeTokenGBs and WeightsPassGBs are DecodeBandwidthRatio's
	// medians (0 where it is DecodeProbeRatio).
	DecodeTokenGBs float64 `json:"decode_token_gbs,omitempty"`
	WeightsPassGBs float64 `json:"weights_pass_gbs,omitempty"`
	// WeightsReadGBs is the same plain read over the decoder's own weight
	// pages (decoder.Model.WeightRegions: every byte a decode step reads,
	// in its order), best of 5 passes, probed right before and right after
	// the timed decode as the fresh buffer is (CPU only; the better is
	// kept); DecodeWeightsRatio is bytes_per_token × decode_tok_s over it.
	// On a virtual machine one process's memory does not all read equally
	// fast, so the fresh buffer can sit in faster pages than the weights:
	// this ratio is decode against the wall of its own pages.
	WeightsReadGBs       float64 `json:"weights_read_gbs,omitempty"`
	WeightsReadBeforeGBs float64 `json:"weights_read_before_gbs,omitempty"`
	WeightsReadAfterGBs  float64 `json:"weights_read_after_gbs,omitempty"`
	DecodeWeightsRatio   float64 `json:"decode_weights_ratio,omitempty"`
	// LoadSeconds: building (or loading) the weights and the engine.
	LoadSeconds  float64   `json:"load_s"`
	TotalSeconds float64   `json:"total_s"`
	Skipped      []string  `json:"skipped,omitempty"`
	GOARCH       string    `json:"goarch"`
	GoVersion    string    `json:"go_version"`
	CPUs         int       `json:"cpus"`
	MeasuredAt   time.Time `json:"measured_at"`
	// LoadAverage is the host's 1-minute load average as the run started
	// (Linux only): above the core count, other work was competing for
	// the cores and the memory bus, and the numbers are low.
	LoadAverage float64 `json:"load_avg_1m,omitempty"`
	// ImageBudgets is the native-resolution sweep (Options.ImageTokens).
	ImageBudgets []BudgetResult `json:"image_budgets,omitempty"`
	// CompareActs is decode in other activation formats
	// (Options.CompareActs).
	CompareActs []*ActsResult `json:"compare_acts,omitempty"`
}

// Qwen3-VL chat ids (docs/design.md §2.4) framing the benchmark prompt.
const (
	imStart   = 151644
	imEnd     = 151645
	newline   = 198
	userID    = 872
	assistant = 77091
)

// Run performs the measurements in one process, reporting each stage as it
// starts to progress (may be nil). The read bandwidth is probed first, with
// the same thread count, before the weights take memory.
func Run(ctx context.Context, opt Options, progress func(stage string)) (*Result, error) {
	if progress == nil {
		progress = func(string) {}
	}
	start := time.Now()
	if err := opt.normalize(); err != nil {
		return nil, err
	}
	skip := func(step string) bool { return slices.Contains(opt.Skip, step) }
	// The model's worker pool and the bandwidth probe use the same count.
	if opt.Threads == 0 {
		opt.Threads = goruntime.GOMAXPROCS(0)
	}
	res := &Result{
		Threads: opt.Threads, Runs: opt.Runs, CPUPath: kernels.Path(), Backend: opt.Backend, Skipped: opt.Skip, GOARCH: goruntime.GOARCH, GoVersion: goruntime.Version(),
		CPUs: goruntime.NumCPU(), MeasuredAt: time.Now().UTC().Truncate(time.Second), LoadAverage: loadAverage(),
	}

	// The bandwidth is probed right before and right after the timed
	// decode, and the better probe is the bandwidth: shared hosts drift by
	// tens of percent within a minute, so only probes next to the decode
	// make a meaningful ratio. Without decode, one probe runs first.
	var backend engine.Backend // set once loaded: the GPU probes its own device
	probe := func(when string, dst *float64) error {
		if skip(StepBandwidth) {
			return nil
		}
		var gbs float64
		var err error
		if dev, ok := backend.(deviceProbe); ok {
			progress(fmt.Sprintf("device read bandwidth %s (%d MiB buffer)", when, opt.BandwidthBytes>>20))
			gbs, err = dev.MeasureBandwidth(ctx, int64(opt.BandwidthBytes))
		} else {
			progress(fmt.Sprintf("read bandwidth %s (%d MiB buffer, %d threads)", when, opt.BandwidthBytes>>20, res.Threads))
			gbs, err = kernels.MeasureReadBandwidth(ctx, opt.BandwidthBytes, res.Threads)
		}
		if err != nil {
			return err
		}
		*dst, res.BandwidthBytes = gbs, opt.BandwidthBytes
		res.ReadBandwidthGBs = max(res.ReadBandwidthGBs, gbs)
		goruntime.GC() // return the probe's buffer
		return nil
	}
	// probeWeights reads the CPU decoder's own weights the same way.
	probeWeights := func(when string, dst *float64) error {
		regions := weightsToProbe(backend)
		if skip(StepBandwidth) || regions == nil {
			return nil
		}
		progress(fmt.Sprintf("read bandwidth of the decoder's weights %s (%d threads)", when, res.Threads))
		gbs, err := kernels.MeasureRegionsReadBandwidth(ctx, regions, res.Threads)
		if err != nil {
			return err
		}
		*dst = gbs
		res.WeightsReadGBs = max(res.WeightsReadGBs, gbs)
		return nil
	}
	if skip(StepDecode) && opt.Backend == "cpu" {
		if err := probe("before loading", &res.ReadBandwidthBeforeGBs); err != nil {
			return nil, err
		}
	}

	if !skip(StepPeak) && opt.Backend == "cpu" { // a GPU's prefill is not measured against the CPU
		progress(fmt.Sprintf("float32 FMA peak (%s vectors, %d threads)", kernels.PeakPath(), res.Threads))
		g, err := kernels.MeasurePeakGFLOPs(ctx, res.Threads)
		if err != nil {
			return nil, err
		}
		res.PeakGFLOPs = g
		res.PeakPath = kernels.PeakPath()
	}

	loadStart := time.Now()
	needVision := !skip(StepVision)
	e, embedRow, closeFn, err := opt.engine(ctx, needVision, progress)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	defer e.Close() // stops the model's worker pool, releases device memory
	backend = e.Backend
	info := backend.Info()
	res.Device = info.Device
	res.DecodeActs = decoder.ActsFloat32.String() // a GPU computes in float32
	res.PrefillActs = res.DecodeActs
	if cpu, ok := backend.(*engine.CPU); ok {
		res.DecodeActs = cpu.Decoder.Acts().String()
		res.PrefillActs = cpu.Decoder.PrefillActs().String()
	}
	vocab := info.Vocab
	if skip(StepDecode) && opt.Backend != "cpu" {
		if err := probe("after loading", &res.ReadBandwidthBeforeGBs); err != nil {
			return nil, err
		}
	}
	res.LoadSeconds = time.Since(loadStart).Seconds()
	res.Model = opt.Shape
	if opt.ModelDir != "" {
		res.Model = opt.ModelDir
	}
	res.DecoderWeightBytes = info.DecodeBytesPerToken
	res.BytesPerToken = res.DecoderWeightBytes + embedRow

	rng := rand.New(rand.NewPCG(opt.Seed, 0x62656e6368))
	cfg := e.Config
	grid := e.Grid

	// Vision: one image through the tower. Its output also feeds the
	// prefill prompt, so prefill sees real-shaped image embeddings.
	var img *engine.Image
	if needVision {
		patches := make([]float32, grid.NumPatches()*grid.PatchDim())
		for i := range patches {
			patches[i] = 2*rng.Float32() - 1
		}
		best := time.Duration(math.MaxInt64)
		for run := range opt.Runs {
			progress(fmt.Sprintf("vision encode (%d patches), run %d of %d", grid.NumPatches(), run+1, opt.Runs))
			if img != nil {
				img.Handle.Release()
			}
			if img, err = e.EncodePatches(ctx, patches); err != nil {
				return nil, err
			}
			best = min(best, img.EncodeTime)
			res.VisionMsRuns = append(res.VisionMsRuns, float64(img.EncodeTime.Nanoseconds())/1e6)
		}
		side := grid.PatchesPerSide()
		res.VisionPatches = grid.NumPatches()
		res.VisionMs = float64(best.Nanoseconds()) / 1e6
		res.VisionGFLOP = VisionFLOPs(cfg, side, side) / 1e9
		res.VisionGFLOPs = res.VisionGFLOP / best.Seconds()
		if host := img.Host(); host != nil {
			if err := finite("image embeddings", host.ImageEmbeds); err != nil {
				return nil, err
			}
		}
	} else {
		img = randomImage(e, rng)
	}

	ids, err := promptIDs(cfg, vocab, img.Tokens(), opt.PromptTokens, rng)
	if err != nil {
		return nil, err
	}
	res.ImageTokens = img.Tokens()
	res.PrefillGFLOPPerToken = PrefillFLOPs(cfg, len(ids)) / float64(len(ids)) / 1e9

	if !skip(StepPrefill) {
		for run := range opt.Runs {
			progress(fmt.Sprintf("batched prefill (%d tokens), run %d of %d", len(ids), run+1, opt.Runs))
			st, err := prefill(ctx, e, ids, img, opt.PrefillChunk)
			if err != nil {
				return nil, fmt.Errorf("bench: batched prefill: %w", err)
			}
			res.PrefillTokens, res.PrefillChunk = st.PrefillTokens, opt.PrefillChunk
			res.PrefillTokS = max(res.PrefillTokS, st.PrefillTokPerSec())
			res.PrefillTokSRuns = append(res.PrefillTokSRuns, st.PrefillTokPerSec())
		}
		res.PrefillGFLOPs = res.PrefillGFLOPPerToken * res.PrefillTokS
	}

	if !skip(StepPrefillS1) {
		n := min(opt.S1Tokens, len(ids))
		progress(fmt.Sprintf("S=1 prefill (first %d prompt tokens)", n))
		d, err := prefillS1(ctx, e, ids[:n], img, make([]float32, vocab))
		if err != nil {
			return nil, err
		}
		res.PrefillS1Tokens = n
		res.PrefillS1TokS = float64(n) / d.Seconds()
	}

	if !skip(StepDecode) {
		if err := probe("before decode", &res.ReadBandwidthBeforeGBs); err != nil {
			return nil, err
		}
		if err := probeWeights("before decode", &res.WeightsReadBeforeGBs); err != nil {
			return nil, err
		}
		// The best of a few runs, as the probes report their best pass: a
		// shared host only ever slows a run down. On the CPU a plain-read
		// pass over the weights runs between every two steps
		// (passBetweenSteps).
		prompt := decodePrompt(vocab, rng)
		var tokS float64
		var tokenGBs, passGBs []float64
		var between func() error
		if !skip(StepBandwidth) {
			between = passBetweenSteps(ctx, backend, res.Threads, &passGBs)
		}
		for run := range opt.DecodeRuns {
			progress(fmt.Sprintf("decode (%d tokens), run %d of %d", opt.DecodeTokens, run+1, opt.DecodeRuns))
			r, gaps, err := decodeSteps(ctx, e, prompt, opt.DecodeTokens, between)
			if err != nil {
				return nil, err
			}
			tokS = max(tokS, r)
			if between != nil {
				for _, g := range gaps {
					tokenGBs = append(tokenGBs, float64(res.BytesPerToken)/g.Seconds()/1e9)
				}
			}
		}
		res.DecodeRuns = opt.DecodeRuns
		if d, ok := backend.(interface{ DispatchesPerToken() int }); ok {
			res.DispatchesPerToken = d.DispatchesPerToken()
		}
		res.DecodeTokens, res.DecodePromptTokens, res.DecodeTokS = opt.DecodeTokens, len(prompt), tokS
		if err := probeWeights("after decode", &res.WeightsReadAfterGBs); err != nil {
			return nil, err
		}
		if err := probe("after decode", &res.ReadBandwidthAfterGBs); err != nil {
			return nil, err
		}
		res.DecodeProbeRatio = res.bandwidthRatio(tokS)
		res.DecodeBandwidthRatio = res.DecodeProbeRatio
		res.DecodeWeightsRatio = res.ratioTo(res.WeightsReadGBs, tokS)
		if len(passGBs) > 0 {
			res.DecodeTokenGBs, res.WeightsPassGBs = median(tokenGBs), median(passGBs)
			res.DecodeBandwidthRatio = res.DecodeTokenGBs / res.WeightsPassGBs
		}
	}
	if len(opt.Batch) > 0 {
		if res.BatchDecode, err = batchDecode(ctx, e, opt.Batch, opt.BatchTokens, opt.DecodeRuns, rng, progress); err != nil {
			return nil, err
		}
	}
	for _, a := range opt.CompareActs {
		r, err := compareActs(ctx, e, a, opt, res, ids, img, rng, progress)
		if err != nil {
			return nil, err
		}
		res.CompareActs = append(res.CompareActs, r)
	}
	if res.PeakGFLOPs > 0 {
		res.PrefillPeakRatio = res.PrefillGFLOPs / res.PeakGFLOPs
		res.VisionPeakRatio = res.VisionGFLOPs / res.PeakGFLOPs
	}
	if len(opt.ImageTokens) > 0 && needVision {
		if res.ImageBudgets, err = measureBudgets(ctx, e, opt, rng, progress); err != nil {
			return nil, err
		}
	}
	res.TotalSeconds = time.Since(start).Seconds()
	return res, nil
}

// prefill runs one batched prefill of ids (holding img) in a new session
// and checks its logits are finite: random weights that overflow must fail
// the bench, not report a speed.
func prefill(ctx context.Context, e *engine.Engine, ids []int32, img *engine.Image, chunk int) (engine.Stats, error) {
	s := e.NewSession()
	st, err := s.Generate(ctx, engine.Input{IDs: ids, Images: []*engine.Image{img}}, engine.Options{MaxTokens: 1, PrefillChunk: chunk}, func(engine.Token) bool { return true })
	if err != nil {
		return st, err
	}
	return st, finite("prefill logits", s.LastLogits())
}

// normalize fills defaults and rejects bad options.
func (o *Options) normalize() error {
	if o.Shape == "" {
		o.Shape = DefaultShape
	}
	o.Shape = strings.ToLower(o.Shape)
	if o.DecodeTokens == 0 {
		o.DecodeTokens = DefaultDecodeTokens
	}
	if o.DecodeRuns == 0 {
		o.DecodeRuns = DefaultDecodeRuns
	}
	if o.Runs == 0 {
		o.Runs = DefaultRuns
	}
	if o.PromptTokens == 0 {
		o.PromptTokens = DefaultPromptTokens
	}
	if o.S1Tokens == 0 {
		o.S1Tokens = DefaultS1Tokens
	}
	if o.BandwidthBytes == 0 {
		o.BandwidthBytes = DefaultBandwidthBytes
	}
	if o.BatchTokens == 0 {
		o.BatchTokens = DefaultBatchTokens
	}
	if o.Backend == "" {
		o.Backend = "cpu"
	}
	if o.Backend != "cpu" && (len(o.CompareActs) > 0 || (o.Acts != decoder.ActsAuto && o.Acts != decoder.ActsFloat32)) {
		return fmt.Errorf("bench: activation formats (--acts, --compare-acts) are a CPU-backend option (backend %q)", o.Backend)
	}
	if _, err := devices.Lookup(o.Backend); err != nil && o.Backend != "cpu" {
		return fmt.Errorf("bench: backend %q: want cpu or one of %s", o.Backend, strings.Join(devices.Names(), ", "))
	}
	switch {
	case o.Threads < 0:
		return fmt.Errorf("bench: threads %d must be ≥ 0 (0 = all cores)", o.Threads)
	case o.DecodeTokens < MinDecodeTokens:
		return fmt.Errorf("bench: decode tokens %d: at least %d are timed", o.DecodeTokens, MinDecodeTokens)
	case o.DecodeRuns < 1:
		return fmt.Errorf("bench: decode runs %d must be ≥ 1", o.DecodeRuns)
	case o.Runs < 1:
		return fmt.Errorf("bench: vision and prefill runs %d must be ≥ 1", o.Runs)
	case o.S1Tokens < 1:
		return fmt.Errorf("bench: S=1 prefill tokens %d must be ≥ 1", o.S1Tokens)
	case o.PromptTokens < 0:
		return fmt.Errorf("bench: prompt tokens %d must be positive", o.PromptTokens)
	case o.PrefillChunk < 0:
		return fmt.Errorf("bench: prefill chunk %d must be ≥ 0 (0 = the runtime's default)", o.PrefillChunk)
	case o.BandwidthBytes < 1<<20:
		return fmt.Errorf("bench: bandwidth probe of %d bytes is too small (want ≥ 1 MiB; the default 1 GiB is far larger than any cache)", o.BandwidthBytes)
	}
	if o.BatchTokens < 1 {
		return fmt.Errorf("bench: batch tokens %d must be ≥ 1", o.BatchTokens)
	}
	for _, b := range o.Batch {
		if b < 1 || b > 64 {
			return fmt.Errorf("bench: batch size %d must be within 1..64", b)
		}
	}
	for _, n := range o.ImageTokens {
		if n < 4 || n > 16384 {
			return fmt.Errorf("bench: image token budget %d must be within 4..16384", n)
		}
	}
	for _, s := range o.Skip {
		if !slices.Contains(Steps(), s) {
			return fmt.Errorf("bench: unknown measurement %q to skip (want %s)", s, strings.Join(Steps(), ", "))
		}
	}
	return nil
}

// engine builds the model to measure: synthetic random weights for a shape,
// or a real model's files. It returns the bytes of one embedding row (read
// once per decoded token) and a function releasing the files.
func (o *Options) engine(ctx context.Context, needVision bool, progress func(string)) (e *engine.Engine, embedRow int64, closeFn func(), err error) {
	var (
		cfg *config.Model
		src weights.Source
	)
	closeFn = func() {}
	if o.ModelDir != "" {
		progress("loading " + o.ModelDir)
		loc, err := bundle.Resolve(o.ModelDir)
		if err != nil {
			return nil, 0, nil, err
		}
		if cfg, err = loc.LoadConfig(); err != nil {
			return nil, 0, nil, err
		}
		set, err := loc.OpenWeights()
		if err != nil {
			return nil, 0, nil, err
		}
		src, closeFn = set, func() { set.Close() }
	} else {
		if cfg, err = Shape(o.Shape); err != nil {
			return nil, 0, nil, err
		}
		progress(fmt.Sprintf("building %s weights (seed %d)", o.Shape, o.Seed))
		ms, err := randomSource(ctx, cfg, o.Seed, needVision)
		if err != nil {
			return nil, 0, nil, err
		}
		src = releasing(ms)
	}
	progress("binding weights")
	e, err = engine.NewEngine(ctx, src, cfg, nil, engine.LoadOptions{Precision: weights.Int8, NoVision: !needVision, Threads: o.Threads, Acts: o.Acts})
	if err != nil {
		closeFn()
		return nil, 0, nil, err
	}
	if t, err := src.Tensor("model.language_model.embed_tokens.weight"); err == nil {
		embedRow = int64(t.DType.Size() * cfg.Text.HiddenSize)
	}
	if d, lookupErr := devices.Lookup(o.Backend); lookupErr == nil {
		progress("uploading to the " + o.Backend + " device")
		dev, err := d.Open()
		if err == nil {
			e, err = gpu.NewEngine(ctx, dev, e.CPU(), cfg, nil, 0, false, nil)
		} else {
			e.Close()
		}
		if err != nil {
			closeFn()
			return nil, 0, nil, err
		}
	}
	// A benchmark decodes a fixed number of tokens: whatever the weights
	// predict, no token ends the turn.
	e.EOS = nil
	return e, embedRow, closeFn, nil
}

// releasing drops a synthetic tensor from the map once its loader has
// copied it (the vision tower widens its float16 weights to float32), so
// the float16 copy does not stay in memory beside the float32 one. Tensors
// bound in place (int8 linears, the embedding table) are never released.
type releasing weights.MapSource

func (r releasing) Has(name string) bool { return weights.MapSource(r).Has(name) }
func (r releasing) Tensor(name string) (safetensors.Tensor, error) {
	return weights.MapSource(r).Tensor(name)
}
func (r releasing) Release(t safetensors.Tensor) { delete(r, t.Name) }

// randomImage stands in for an encoded image when the vision tower is not
// run: unit-scale embeddings and DeepStack features of the grid's size.
func randomImage(e *engine.Engine, rng *rand.Rand) *engine.Image {
	side := e.Grid.MergedSide()
	tokens, h := side*side, e.Config.Text.HiddenSize
	out := &vision.Output{
		Tokens:          tokens,
		ImageEmbeds:     make([]float32, tokens*h),
		DeepstackEmbeds: make([]float32, len(e.Config.Vision.DeepstackIndexes)*tokens*h),
	}
	for _, v := range [][]float32{out.ImageEmbeds, out.DeepstackEmbeds} {
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	}
	return &engine.Image{Handle: engine.HostImage{Out: out}, Rows: side, Cols: side}
}

// promptIDs is the seed card's prompt shape (docs/design.md §2.4): the user turn
// <|im_start|>user\n<|vision_start|> pads… <|vision_end|>{text}<|im_end|>\n
// <|im_start|>assistant\n, with random text ids filling it to n tokens.
func promptIDs(cfg *config.Model, vocab, imageTokens, n int, rng *rand.Rand) ([]int32, error) {
	head := []int32{imStart, userID, newline, cfg.VisionStartID}
	tail := []int32{imEnd, newline, imStart, assistant, newline}
	text := n - len(head) - imageTokens - 1 - len(tail)
	if text < 1 {
		return nil, fmt.Errorf("bench: a %d-token prompt cannot hold the image's %d tokens, the chat framing and some text (want ≥ %d)",
			n, imageTokens, len(head)+imageTokens+1+len(tail)+1)
	}
	ids := slices.Clone(head)
	for range imageTokens {
		ids = append(ids, cfg.ImageTokenID)
	}
	ids = append(ids, cfg.VisionEndID)
	ids = append(ids, textIDs(vocab, text, rng)...)
	ids = append(ids, tail...)
	for _, id := range ids {
		if int(id) >= vocab {
			return nil, fmt.Errorf("bench: prompt id %d is outside the model's vocabulary of %d", id, vocab)
		}
	}
	return ids, nil
}

// textIDs are n random ordinary BPE ids, clear of the special tokens at the
// top of the vocabulary.
func textIDs(vocab, n int, rng *rand.Rand) []int32 {
	hi := max(min(vocab, 150000), 1001)
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(1000 + rng.IntN(hi-1000))
	}
	return ids
}

// decodePrompt is the short text-only chat turn timed decode follows.
func decodePrompt(vocab int, rng *rand.Rand) []int32 {
	ids := []int32{imStart, userID, newline}
	ids = append(ids, textIDs(vocab, 3, rng)...)
	return append(ids, imEnd, newline, imStart, assistant, newline)
}

// prefillS1 runs ids (a prefix of the prompt, whose pads belong to img)
// one token per step through a fresh sequence of the engine's backend,
// placed and positioned exactly as engine.Session places them, and times
// it; the last token's logits are left in logits. The session itself
// cannot stop part-way through an image.
func prefillS1(ctx context.Context, e *engine.Engine, ids []int32, img *engine.Image, logits []float32) (time.Duration, error) {
	vocab := e.Backend.Info().Vocab
	pad := e.Config.ImageTokenID
	run := make([]int32, len(ids))
	pos := make([][3]int32, len(ids))
	var rope mrope.Cursor
	imgPos := make([][3]int32, img.Tokens())
	for i := 0; i < len(ids); {
		if ids[i] != pad {
			run[i], pos[i] = ids[i], rope.Text()
			i++
			continue
		}
		rope.Image(mrope.Grid{Rows: img.Rows, Cols: img.Cols}, imgPos)
		for k := 0; k < img.Tokens() && i < len(ids); k, i = k+1, i+1 {
			run[i], pos[i] = mrope.ExtensionID(vocab, k), imgPos[k]
		}
	}
	seq, err := e.Backend.NewSequence(ctx)
	if err != nil {
		return 0, err
	}
	defer seq.Close()
	if _, err := seq.AddImage(ctx, img.Handle); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := range run {
		want := engine.NoLogits
		if i == len(run)-1 {
			want = engine.LastLogits
		}
		if err := seq.Forward(ctx, run[i:i+1], pos[i:i+1], want, logits); err != nil {
			return 0, fmt.Errorf("bench: S=1 prefill: %w", err)
		}
	}
	d := time.Since(start)
	return d, finite("S=1 prefill logits", logits)
}

func decode(ctx context.Context, e *engine.Engine, prompt []int32, n int) (float64, error) {
	tokS, _, err := decodeSteps(ctx, e, prompt, n, nil)
	return tokS, err
}

// decodeSteps decodes n tokens after prompt in a new session and returns
// the decode rate and the time of each step (from one streamed token to
// the next, sampling included). between, when not nil, runs after each of
// the first n streamed tokens, before the step that makes the next one
// (Generate calls back between steps, so nothing else runs meanwhile);
// its time is no step's, and the rate is then n over the steps' time.
func decodeSteps(ctx context.Context, e *engine.Engine, prompt []int32, n int, between func() error) (float64, []time.Duration, error) {
	s := e.NewSession()
	at := make([]time.Time, 0, n+1)     // each token streamed
	resume := make([]time.Time, 0, n+1) // the next step starts
	var betweenErr error
	st, err := s.Generate(ctx, engine.Input{IDs: prompt}, engine.Options{MaxTokens: n + 1}, func(engine.Token) bool {
		at = append(at, time.Now())
		if between != nil && len(at) <= n {
			if betweenErr = between(); betweenErr != nil {
				return false
			}
		}
		resume = append(resume, time.Now())
		return true
	})
	if err == nil {
		err = betweenErr
	}
	if err != nil {
		return 0, nil, fmt.Errorf("bench: decode: %w", err)
	}
	if st.GeneratedTokens != n+1 || len(at) != n+1 {
		return 0, nil, fmt.Errorf("bench: decode produced %d tokens, want %d (finish: %s)", st.GeneratedTokens, n+1, st.FinishReason)
	}
	if err := finite("decode logits", s.LastLogits()); err != nil {
		return 0, nil, err
	}
	gaps := make([]time.Duration, n)
	var total time.Duration
	for i := range gaps {
		gaps[i] = at[i+1].Sub(resume[i])
		total += gaps[i]
	}
	if between == nil {
		return st.DecodeTokPerSec(), gaps, nil
	}
	return float64(n) / total.Seconds(), gaps, nil
}

// passBetweenSteps returns a decodeSteps between that reads the CPU
// decoder's weight pages once and appends the pass's GB/s to *passes, or
// nil where the weights are not probed (a GPU, or a decoder that fits the
// caches). A step and a pass read the same bytes in the same order, one
// after the other, so the median step over the median pass is decode's
// fraction of what the bus gave those pages in those seconds — on a
// shared virtual machine neither a probe minutes away nor one in other
// memory says that (see Result.DecodeBandwidthRatio).
func passBetweenSteps(ctx context.Context, backend engine.Backend, threads int, passes *[]float64) func() error {
	regions := weightsToProbe(backend)
	if regions == nil {
		return nil
	}
	return func() error {
		p, err := kernels.ReadPasses(ctx, regions, threads, 1)
		*passes = append(*passes, p...)
		return err
	}
}

// weightsToProbe is the CPU decoder's weight pages, which the bench reads
// beside decode, or nil where there is nothing to probe: a GPU, or a
// decoder that fits the caches (under minWeightsProbe bytes) and so has no
// memory to measure.
func weightsToProbe(backend engine.Backend) [][]byte {
	cpu, ok := backend.(*engine.CPU)
	if !ok || cpu.Decoder.WeightBytes() < minWeightsProbe {
		return nil
	}
	return cpu.Decoder.WeightRegions()
}

// median is the middle of v (the upper one of an even count); v is not
// changed.
func median[T cmp.Ordered](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// loadAverage reads the 1-minute load average, or 0 where the system does
// not publish it.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return v
}

// finite rejects NaN or infinite values: random weights of the right
// magnitude keep every activation finite, so a non-finite output means a
// broken kernel, and its timing means nothing.
func finite(what string, v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("bench: %s[%d] = %v: the forward pass produced a non-finite value", what, i, x)
		}
	}
	return nil
}

// deviceProbe is a backend that measures its device's read bandwidth
// (the GPU engine).
type deviceProbe interface {
	MeasureBandwidth(ctx context.Context, size int64) (float64, error)
}

// Engine builds the model opt names (a synthetic shape, or ModelDir)
// without its vision tower and with no end-of-turn token, for measurements
// that drive it through other layers (the serving benchmark). close
// releases it.
func Engine(ctx context.Context, opt Options, progress func(string)) (e *engine.Engine, close func(), err error) {
	if progress == nil {
		progress = func(string) {}
	}
	if err := opt.normalize(); err != nil {
		return nil, nil, err
	}
	e, _, closeFn, err := opt.engine(ctx, false, progress)
	if err != nil {
		return nil, nil, err
	}
	return e, func() { e.Close(); closeFn() }, nil
}

// minWeightsProbe is the smallest decoder whose weights are probed: less
// would read the caches, not memory. (A variable so a test can probe a
// tiny model.)
var minWeightsProbe int64 = 64 << 20

// bandwidthRatio is the read bandwidth a decode at tokS tokens per second
// streams (BytesPerToken each) over the measured bandwidth; 0 when the
// bandwidth was not measured.
func (r *Result) bandwidthRatio(tokS float64) float64 { return r.ratioTo(r.ReadBandwidthGBs, tokS) }

// ratioTo is what a decode at tokS tokens per second streams over gbs
// (0 when gbs was not measured).
func (r *Result) ratioTo(gbs, tokS float64) float64 {
	if gbs <= 0 {
		return 0
	}
	return float64(r.BytesPerToken) * tokS / (gbs * 1e9)
}
