package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vlmrt/vlmrt/internal/bench"
	"github.com/vlmrt/vlmrt/scripts/internal/checkrun"
)

// The files scripts/cpu-check.sh leaves in its output directory.
const (
	fileInfo    = "info.txt"     // "key: value" lines about the machine and the commit
	fileSteps   = "steps.tsv"    // one line per step: name, exit status, seconds[, why it did not run]
	filePaths   = "paths.txt"    // the kernel paths the CPU supports, best first
	fileKernels = "kernels.json" // go test -json of the kernel tests
	// golden-PATH.json: go test -json of the golden tests on PATH;
	// bench-N.json: run N of the full bench on the default path;
	// bench-PATH.json: the decode-only bench forced onto a lower PATH.
)

// Issue 14's targets on any machine (its "How it is checked"): decode at
// 0.85 of the bandwidth the bench measures beside it, batched prefill and
// the vision tower at half the measured FMA peak. B = 4 at 2.5× B = 1 is
// stated for the 2-vCPU Zen 5 build machine; elsewhere it is reported,
// not judged (a machine with more cores or a slower bus moves it).
const (
	targetDecode = 0.85
	targetPeak   = 0.5
	targetBatch4 = 2.5
)

// report reads dir and writes the table to w. It returns the failures: a
// failed step or test, a bench that did not take the CPU's best path, a
// target the median run missed.
func report(dir string, w io.Writer) ([]string, error) {
	t := &checkrun.Table{W: w, Brief: true}
	info, _ := os.ReadFile(filepath.Join(dir, fileInfo))
	t.Header("vlmrt cpu-check (issue 14: the CPU engine at the machine's limits)", info)

	steps, err := checkrun.ReadSteps(filepath.Join(dir, fileSteps))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	t.Steps(steps)

	pathsText, err := os.ReadFile(filepath.Join(dir, filePaths))
	paths := strings.Fields(string(pathsText))
	if err != nil || len(paths) == 0 {
		t.Row("kernel paths", "unknown ("+filePaths+" missing or empty)", t.Fail("kernel paths"))
	} else {
		t.Row("kernel paths (best first)", strings.Join(paths, " "), "")
	}

	if err := tests(t, filepath.Join(dir, fileKernels), "kernel tests (every path)"); err != nil {
		return nil, err
	}
	for _, p := range paths {
		if err := tests(t, filepath.Join(dir, "golden-"+p+".json"), "golden tests on "+p); err != nil {
			return nil, err
		}
	}

	runs, err := readRuns(dir)
	if err != nil {
		return nil, err
	}
	best := ""
	if len(paths) > 0 {
		best = paths[0]
	}
	defaultRuns(t, runs, best)
	for _, p := range paths[min(1, len(paths)):] {
		lowerRun(t, dir, p)
	}
	t.Result()
	return t.Failures, nil
}

// tests adds one go test -json file's rows; a missing file is a failure.
func tests(t *checkrun.Table, path, what string) error {
	run, err := checkrun.ReadTestRun(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Row(what, "not run ("+filepath.Base(path)+" missing)", t.Fail(what+" not run"))
		return nil
	}
	if err != nil {
		return err
	}
	// A kernel test skipping a path the CPU lacks is expected; none of
	// these tests may skip for want of the model or its goldens.
	t.Tests(what, run, func(reason string) bool { return strings.Contains(reason, "testdata") })
	return nil
}

// readRuns reads bench-1.json, bench-2.json, … in order.
func readRuns(dir string) ([]*bench.Result, error) {
	var runs []*bench.Result
	for i := 1; ; i++ {
		r, err := checkrun.ReadJSON[bench.Result](filepath.Join(dir, "bench-"+strconv.Itoa(i)+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			return runs, nil
		}
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
}

// defaultRuns reports the full bench runs on the default path and judges
// each target on the median run (a shared host's bus drifts from minute
// to minute; the count of runs meeting it is shown beside).
func defaultRuns(t *checkrun.Table, runs []*bench.Result, best string) {
	if len(runs) == 0 {
		t.Row("bench", "no run (bench-1.json missing)", t.Fail("bench not run"))
		return
	}
	r0 := runs[0]
	t.Row("bench shape, threads", fmt.Sprintf("%s, %d threads", r0.Model, r0.Threads), "")
	for i, r := range runs {
		status := ""
		if r.CPUPath != best {
			status = t.Fail(fmt.Sprintf("bench run %d took path %q, not the CPU's best %q", i+1, r.CPUPath, best))
		}
		t.Row(fmt.Sprintf("bench run %d (%s, %s activations)", i+1, r.CPUPath, r.DecodeActs),
			fmt.Sprintf("%.1f tok/s; read %.0f GB/s (weights), %.0f (fresh)", r.DecodeTokS, r.WeightsPassGBs, r.ReadBandwidthGBs), status)
		if r.LoadAverage > float64(r.CPUs) {
			t.Note(fmt.Sprintf("load average %.2f on %d CPUs as it started: other work competed for the cores and the bus, so this run's numbers are low", r.LoadAverage, r.CPUs))
		}
	}
	judge(t, runs, "decode_bandwidth_ratio", targetDecode, true, func(r *bench.Result) float64 { return r.DecodeBandwidthRatio })
	judge(t, runs, "prefill_peak_ratio", targetPeak, true, func(r *bench.Result) float64 { return r.PrefillPeakRatio })
	judge(t, runs, "vision_peak_ratio", targetPeak, true, func(r *bench.Result) float64 { return r.VisionPeakRatio })
	judge(t, runs, "B = 4 aggregate ÷ B = 1 (Zen 5 target)", targetBatch4, false, func(r *bench.Result) float64 {
		for _, b := range r.BatchDecode {
			if b.B == 4 {
				return b.Ratio
			}
		}
		return 0
	})
	peak := median(runs, func(r *bench.Result) float64 { return r.PeakGFLOPs })
	t.Row("measured FMA peak (median)", fmt.Sprintf("%.0f GFLOP/s", peak), "")
}

// judge writes one target's row: the median over runs and how many runs
// reach target; binding targets fail the check when the median misses.
func judge(t *checkrun.Table, runs []*bench.Result, name string, target float64, binding bool, value func(*bench.Result) float64) {
	var vals []string
	met := 0
	for _, r := range runs {
		v := value(r)
		vals = append(vals, fmt.Sprintf("%.2f", v))
		if v >= target {
			met++
		}
	}
	m := median(runs, value)
	status := "ok"
	switch {
	case m >= target:
	case binding:
		status = t.Fail(fmt.Sprintf("%s %.2f < %.2f", name, m, target))
	default:
		status = "below (not judged here)"
	}
	t.Row(fmt.Sprintf("%s ≥ %g", name, target), fmt.Sprintf("median %.2f; %d of %d runs", m, met, len(runs)), status)
	t.Note("runs: " + strings.Join(vals, " "))
}

func median(runs []*bench.Result, value func(*bench.Result) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = value(r)
	}
	slices.Sort(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// lowerRun reports the decode-only bench forced onto lower path p: it
// stands for a machine whose best path is p (an AVX2-only CPU), so its
// ratio is shown against the target but not judged; the run must have
// taken p.
func lowerRun(t *checkrun.Table, dir, p string) {
	r, err := checkrun.ReadJSON[bench.Result](filepath.Join(dir, "bench-"+p+".json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if p != "generic" {
			t.Row("decode forced to "+p, "not run", "")
		}
		return
	case err != nil:
		t.Row("decode forced to "+p, err.Error(), t.Fail("bench "+p+" unreadable"))
		return
	}
	status := "ok"
	if r.CPUPath != p {
		status = t.Fail(fmt.Sprintf("VLMRT_CPU=%s bench took path %q", p, r.CPUPath))
	} else if r.DecodeBandwidthRatio < targetDecode {
		status = "below (forced path: not judged)"
	}
	t.Row("decode forced to "+p+" (VLMRT_CPU)", fmt.Sprintf("ratio %.2f, %.1f tok/s", r.DecodeBandwidthRatio, r.DecodeTokS), status)
}
