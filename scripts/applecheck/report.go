package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vlmrt/vlmrt/scripts/internal/checkrun"
)

// The files scripts/apple-check.sh leaves in its output directory, which
// this program turns into one table.
const (
	fileInfo    = "info.txt"     // "key: value" lines about the machine and the commit
	fileSteps   = "steps.tsv"    // one line per step: name, exit status, seconds
	fileKernels = "kernels.json" // go test -json of the kernel tests
	fileLadder  = "ladder.json"  // go test -json of the golden ladder on Metal
	fileBench   = "bench.json"   // vlmrt bench --backend metal --json
	fileCoreAI  = "coreai.txt"   // the Core AI bridge's self-check, or one SKIP line
)

// benchResult is the part of vlmrt bench's JSON the table shows.
type benchResult struct {
	Backend              string   `json:"backend"`
	Device               string   `json:"device"`
	Model                string   `json:"model"`
	DecodeTokS           float64  `json:"decode_tok_s"`
	BytesPerToken        int64    `json:"bytes_per_token"`
	ReadBandwidthGBs     float64  `json:"read_bandwidth_gbs"`
	DecodeBandwidthRatio float64  `json:"decode_bandwidth_ratio"`
	DispatchesPerToken   *float64 `json:"dispatches_per_token"`
	PrefillTokS          float64  `json:"prefill_tok_s"`
	VisionMs             float64  `json:"vision_ms"`
	DecodeTokens         int      `json:"decode_tokens"`
	DecodePromptTokens   int      `json:"decode_prompt_tokens"`
}

// table is the shared report table with the Metal check's own rows.
type table struct{ checkrun.Table }

// report reads dir and writes the table to w. It returns the mismatches:
// any step that failed, any test that failed or did not build, a Metal
// test that skipped, a bench without a finite decode speed, a failed
// Core AI check. Missing files are reported as such (a step that did not
// run is a mismatch too).
func report(dir string, w io.Writer) ([]string, error) {
	t := &table{checkrun.Table{W: w}}
	info, _ := os.ReadFile(filepath.Join(dir, fileInfo))
	t.Header("vlmrt apple-check", info)

	steps, err := checkrun.ReadSteps(filepath.Join(dir, fileSteps))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	notRun := t.Steps(steps)

	for _, f := range []struct{ file, what, step string }{{fileKernels, "kernel tests", "kernel tests"}, {fileLadder, "golden ladder on Metal", "golden ladder"}} {
		run, err := checkrun.ReadTestRun(filepath.Join(dir, f.file))
		if errors.Is(err, fs.ErrNotExist) && notRun[f.step] {
			continue // the step's row says why
		}
		if errors.Is(err, fs.ErrNotExist) {
			t.Row(f.what, "not run ("+f.file+" missing)", t.Fail(f.what+" not run"))
			continue
		}
		if err != nil {
			return nil, err
		}
		t.Tests(f.what, run, metalSkip)
	}

	b, err := checkrun.ReadJSON[benchResult](filepath.Join(dir, fileBench))
	switch {
	case errors.Is(err, fs.ErrNotExist) && notRun["bench"]:
	case errors.Is(err, fs.ErrNotExist):
		t.Row("bench", "not run ("+fileBench+" missing)", t.Fail("bench not run"))
	case err != nil:
		t.Row("bench", err.Error(), t.Fail("bench unreadable"))
	default:
		t.bench(b)
	}

	t.coreAI(filepath.Join(dir, fileCoreAI))

	t.Result()
	return t.Failures, nil
}

// metalSkip: a test skipped for want of Metal means the check did not
// run; a skip for anything else (a shader tool not installed) is only listed.
func metalSkip(reason string) bool { return strings.Contains(strings.ToLower(reason), "metal") }

func (t *table) bench(b *benchResult) {
	name := strings.TrimSpace(b.Model + " " + b.Backend + " " + b.Device)
	status := "ok"
	if !(b.DecodeTokS > 0) || math.IsInf(b.DecodeTokS, 0) {
		status = t.Fail("bench decode speed")
	}
	t.Row("decode ("+name+")", fmt.Sprintf("%.1f tok/s", b.DecodeTokS), status)
	t.Row("bytes per token", fmt.Sprintf("%.3f GB", float64(b.BytesPerToken)/1e9), "")
	t.Row("measured bandwidth", fmt.Sprintf("%.0f GB/s", b.ReadBandwidthGBs), "")
	t.Row("decode bandwidth ratio", fmt.Sprintf("%.2f", b.DecodeBandwidthRatio), "")
	dispatches := 0
	if b.DispatchesPerToken != nil {
		dispatches = int(math.Round(*b.DispatchesPerToken))
		t.Row("dispatches per token", strconv.Itoa(dispatches), "")
	}
	if b.PrefillTokS > 0 {
		t.Row("prefill", fmt.Sprintf("%.1f tok/s", b.PrefillTokS), "")
	}
	t.Row("vision (one 448×448 image)", fmt.Sprintf("%.0f ms", b.VisionMs), "")
	if b.ReadBandwidthGBs > 0 && b.BytesPerToken > 0 && b.DecodeTokS > 0 {
		if dispatches == 0 {
			dispatches = modelDispatches(layersOf(b.BytesPerToken))
		}
		p := predict(b.BytesPerToken, b.ReadBandwidthGBs, dispatches)
		got := b.DecodeTokS / p.TokS
		verdict := "CONFIRMED (within ±15%)"
		switch {
		case got < 0.85:
			verdict = fmt.Sprintf("REFUTED: %.0f%% slower than modelled", 100*(1-got))
		case got > 1.15:
			verdict = fmt.Sprintf("REFUTED: %.0f%% faster than modelled", 100*(got-1))
		}
		t.Row("performance model (docs/apple.md)", fmt.Sprintf("%.1f tok/s, ratio %.2f predicted", p.TokS, p.Ratio), verdict)
	}
}

// layersOf guesses the layer count from the bytes per token (the model's
// N when the bench does not report dispatches): the shape whose bytes are
// nearest.
func layersOf(bytes int64) int {
	best, layers := math.Inf(1), 36
	for _, name := range []string{"2b", "4b", "8b"} {
		cfg, err := shapeConfig(name)
		if err != nil {
			continue
		}
		s := decodeBytes(name, cfg)
		if d := math.Abs(float64(s.WeightBytes - bytes)); d < best {
			best, layers = d, s.Layers
		}
	}
	return layers
}

// coreAI reports the bridge's self-check: "ok"/"FAIL"/"skip" lines from
// vlmrt-coreai-check, or one "SKIP reason" line from the script.
func (t *table) coreAI(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Row("Core AI bridge", "not run ("+fileCoreAI+" missing)", t.Fail("Core AI check not run"))
		return
	}
	text := strings.TrimSpace(string(b))
	if reason, ok := strings.CutPrefix(text, "SKIP "); ok {
		t.Row("Core AI bridge", "skipped", reason)
		return
	}
	var ok, failed int
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "ok "):
			ok++
		case strings.HasPrefix(line, "FAIL "):
			failed++
			t.Note("Core AI: " + strings.TrimSpace(strings.TrimPrefix(line, "FAIL ")))
		}
	}
	status := "ok"
	if failed > 0 || ok == 0 {
		status = t.Fail("Core AI bridge")
	}
	t.Row("Core AI bridge self-check", fmt.Sprintf("%d ok, %d failed", ok, failed), status)
}
