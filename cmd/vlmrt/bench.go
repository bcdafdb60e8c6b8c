package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/bench"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/servebench"
)

func init() {
	register(command{
		name:    "bench",
		summary: "measure speed on the CPU or a GPU: read bandwidth, decode, prefill and vision (no download needed)",
		run:     runBench,
	})
}

func runBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[--shape 2b|4b|8b | --model DIR] [flags]", stderr)
	var (
		opt     bench.Options
		asJSON  bool
		skip    string
		probeMB int
		serve   serveBench
		acts    = "auto"
		compare string
		actInt8 bool
	)
	fs.StringVar(&opt.Shape, "shape", bench.DefaultShape, "synthetic model shape with seeded random weights: "+strings.Join(bench.Shapes(), ", "))
	fs.StringVar(&opt.ModelDir, "model", "", "benchmark a real checkpoint or bundle `DIR` instead of a shape")
	fs.IntVar(&opt.Threads, "threads", 0, "CPU threads (0 = all cores)")
	fs.StringVar(&opt.Backend, "backend", "cpu", "engine measured: cpu, vulkan or metal (the GPU engine; bandwidth probed on the device)")
	fs.IntVar(&opt.DecodeTokens, "decode-tokens", bench.DefaultDecodeTokens, fmt.Sprintf("greedy decode steps timed (≥ %d)", bench.MinDecodeTokens))
	fs.IntVar(&opt.DecodeRuns, "decode-runs", bench.DefaultDecodeRuns, "decode runs (and --batch rounds), the best one reported (as the bandwidth probe reports its best pass)")
	fs.IntVar(&opt.Runs, "runs", bench.DefaultRuns, "vision and batched prefill runs, the best one reported (as for decode)")
	fs.IntVar(&opt.PromptTokens, "prompt-tokens", bench.DefaultPromptTokens, "length of the multimodal prompt prefilled (one image + text)")
	fs.IntVar(&opt.S1Tokens, "s1-tokens", bench.DefaultS1Tokens, "prompt tokens the S=1 prefill runs, one per step (it runs at decode speed)")
	fs.IntVar(&opt.PrefillChunk, "prefill-chunk", 0, "tokens per batched prefill pass (0 = the runtime's default)")
	fs.IntVar(&probeMB, "probe-mib", bench.DefaultBandwidthBytes>>20, "read-bandwidth probe buffer in MiB (far larger than the caches)")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed of the random weights and inputs")
	fs.StringVar(&skip, "skip", "", "comma-separated measurements to skip: "+strings.Join(bench.Steps(), ","))
	fs.BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
	fs.Var(intList{&serve.clients}, "serve-clients", "comma-separated client counts `N,...` (e.g. 1,2,4,8): instead of the kernel measurements, serve the model in process and measure N concurrent streaming clients (aggregate decode tok/s, TTFT)")
	fs.IntVar(&serve.tokens, "serve-tokens", 32, "with --serve-clients: max_tokens each client asks")
	fs.StringVar(&serve.tokenizer, "tokenizer", "testdata/tokenizer", "with --serve-clients on a --shape: the Qwen3-VL tokenizer `DIR` the chat template needs")
	fs.Var(intList{&opt.Batch}, "batch", "comma-separated batch sizes `B,...` (e.g. 1,2,4,8): also decode B sequences stepping together (one pass over the weights per step, as the server batches) and report aggregate tok/s and the ratio to B=1")
	fs.StringVar(&acts, "acts", acts, "CPU decode activation format: auto (int16 where the CPU has its kernels, else f32), f32 (the reference numerics), int16, int8")
	fs.StringVar(&compare, "compare-acts", "", "comma-separated activation formats `F,...` (f32, int16, int8) also measured for the batched prefill, decode (and --batch), alternating with --acts in this process (CPU only)")
	fs.BoolVar(&actInt8, "act-int8", false, "short for --compare-acts int8")
	fs.IntVar(&opt.BatchTokens, "batch-tokens", bench.DefaultBatchTokens, "with --batch: steps timed per batch size")
	fs.Var(intList{&opt.ImageTokens}, "image-tokens", "comma-separated native-resolution budgets `N,...` (max image tokens): vision ms and prefill tok/s for a photo and a document page at each")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments %q", fs.Args())
	}
	if opt.ModelDir == "" && !slices.Contains(bench.Shapes(), strings.ToLower(opt.Shape)) && strings.ToLower(opt.Shape) != "tiny" {
		return usageError("--shape %q: want one of %s", opt.Shape, strings.Join(bench.Shapes(), ", "))
	}
	if opt.DecodeTokens < bench.MinDecodeTokens {
		return usageError("--decode-tokens %d: at least %d", opt.DecodeTokens, bench.MinDecodeTokens)
	}
	if opt.DecodeRuns < 1 {
		return usageError("--decode-runs %d: want ≥ 1", opt.DecodeRuns)
	}
	if opt.Runs < 1 {
		return usageError("--runs %d: want ≥ 1", opt.Runs)
	}
	if probeMB < 1 {
		return usageError("--probe-mib %d: want ≥ 1", probeMB)
	}
	opt.BandwidthBytes = probeMB << 20
	var err error
	if opt.Acts, err = decoder.ParseActs(acts); err != nil {
		return usageError("--acts: %v", err)
	}
	if actInt8 {
		compare = strings.Trim(compare+",int8", ",")
	}
	for _, s := range strings.Split(compare, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		a, err := decoder.ParseActs(s)
		if err != nil || a == decoder.ActsAuto {
			return usageError("--compare-acts %q: want f32, int16 or int8", s)
		}
		opt.CompareActs = append(opt.CompareActs, a)
	}
	if len(serve.clients) > 0 {
		return serve.run(ctx, opt, asJSON, stdout, stderr)
	}
	for _, s := range strings.Split(skip, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(bench.Steps(), s) {
			return usageError("--skip %q: want some of %s", s, strings.Join(bench.Steps(), ","))
		}
		opt.Skip = append(opt.Skip, s)
	}
	start := time.Now()
	res, err := bench.Run(ctx, opt, func(stage string) {
		fmt.Fprintf(stderr, "bench: %5.1fs %s\n", time.Since(start).Seconds(), stage)
	})
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.WriteTable(stdout)
}

// intList is a comma-separated list of integers flag.
type intList struct{ p *[]int }

func (l intList) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(*l.p)), ","), "[]")
}

func (l intList) Set(s string) error {
	*l.p = (*l.p)[:0]
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("want comma-separated integers, got %q", f)
		}
		*l.p = append(*l.p, n)
	}
	return nil
}

// serveBench is `vlmrt bench --serve-clients`: the server in process on
// the model, N streaming clients at once per round.
type serveBench struct {
	clients   []int
	tokens    int
	tokenizer string
}

func (sb serveBench) run(ctx context.Context, opt bench.Options, asJSON bool, stdout, stderr io.Writer) error {
	if slices.Min(sb.clients) < 1 || sb.tokens < 2 {
		return usageError("--serve-clients wants counts ≥ 1 and --serve-tokens ≥ 2")
	}
	start := time.Now()
	progress := func(stage string) { fmt.Fprintf(stderr, "bench: %5.1fs %s\n", time.Since(start).Seconds(), stage) }
	var m *vlmrt.Model
	if opt.ModelDir != "" {
		progress("loading " + opt.ModelDir)
		var err error
		if m, err = vlmrt.Open(ctx, opt.ModelDir, vlmrt.WithThreads(opt.Threads), vlmrt.WithoutVision()); err != nil {
			return err
		}
		defer m.Close()
	} else {
		sm, closeFn, err := servebench.ShapeModel(ctx, opt.Shape, opt.Seed, opt.Threads, sb.tokenizer, progress)
		if err != nil {
			return err
		}
		defer closeFn()
		m = sm
	}
	rows, err := servebench.Run(ctx, m, sb.clients, sb.tokens, progress)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return servebench.WriteTable(stdout, rows)
}
