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

	"github.com/vlmrt/vlmrt/internal/bench"
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
	)
	fs.StringVar(&opt.Shape, "shape", bench.DefaultShape, "synthetic model shape with seeded random weights: "+strings.Join(bench.Shapes(), ", "))
	fs.StringVar(&opt.ModelDir, "model", "", "benchmark a real checkpoint or bundle `DIR` instead of a shape")
	fs.IntVar(&opt.Threads, "threads", 0, "CPU threads (0 = all cores)")
	fs.StringVar(&opt.Backend, "backend", "cpu", "engine measured: cpu, or vulkan (the GPU engine; bandwidth probed on the device)")
	fs.IntVar(&opt.DecodeTokens, "decode-tokens", bench.DefaultDecodeTokens, fmt.Sprintf("greedy decode steps timed (≥ %d)", bench.MinDecodeTokens))
	fs.IntVar(&opt.PromptTokens, "prompt-tokens", bench.DefaultPromptTokens, "length of the multimodal prompt prefilled (one image + text)")
	fs.IntVar(&opt.S1Tokens, "s1-tokens", bench.DefaultS1Tokens, "prompt tokens the S=1 prefill runs, one per step (it runs at decode speed)")
	fs.IntVar(&opt.PrefillChunk, "prefill-chunk", 0, "tokens per batched prefill pass (0 = the runtime's default)")
	fs.IntVar(&probeMB, "probe-mib", bench.DefaultBandwidthBytes>>20, "read-bandwidth probe buffer in MiB (far larger than the caches)")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed of the random weights and inputs")
	fs.StringVar(&skip, "skip", "", "comma-separated measurements to skip: "+strings.Join(bench.Steps(), ","))
	fs.BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
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
	if probeMB < 1 {
		return usageError("--probe-mib %d: want ≥ 1", probeMB)
	}
	opt.BandwidthBytes = probeMB << 20
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
