package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
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

// testEvent is one line of `go test -json`.
type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// testRun is what one go test -json file says.
type testRun struct {
	passed, failed, skipped []string    // "package Test" names
	skipReasons             []string    // what each skip said
	stages                  []stageRow  // cosine / max abs lines, in order
	tokens                  []tokensRow // greedy comparisons
	buildFailed             []string    // packages that did not build
}

// stageRow is one stage comparison a test logged ("… cosine C max abs M").
type stageRow struct {
	key        string // test group and stage, layer indices folded: "TestLadder q8/image layer_out.*"
	count      int    // lines folded into it
	minCos     float64
	maxAbs     float64
	test       string
	testFailed bool
}

// tokensRow is one greedy comparison ("greedy: N/M ...").
type tokensRow struct {
	test       string
	equal, of  int
	testFailed bool
}

var (
	// A test's log line: "    file_test.go:130: text".
	logPrefix = regexp.MustCompile(`^\s+\S+\.go:\d+: `)
	stageLine = regexp.MustCompile(`^(.*?)[:,]?\s+cosine\s+([-+0-9.eEInfNa]+)[,;]?\s+max abs\s+([-+0-9.eEInfNa]+)`)
	greedy    = regexp.MustCompile(`greedy: (\d+)/(\d+) `)
	layerIdx  = regexp.MustCompile(`\.\d+\b`)
)

// readTestRun parses a go test -json file. Lines that are not JSON (a
// build failure printed by go itself) are kept as build failures.
func readTestRun(path string) (*testRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &testRun{}
	outcome := map[string]string{} // test → pass/fail/skip
	lastOutput := map[string]string{}
	type logged struct {
		test, text string
	}
	var logs []logged
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		var ev testEvent
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			if s := strings.TrimSpace(string(line)); s != "" {
				r.buildFailed = append(r.buildFailed, s)
			}
			continue
		}
		name := strings.TrimSpace(ev.Package + " " + ev.Test)
		switch ev.Action {
		case "output":
			if ev.Test != "" {
				if text := strings.TrimRight(ev.Output, "\n"); text != "" {
					lastOutput[name] = text
					logs = append(logs, logged{name, text})
				}
			} else if strings.HasPrefix(ev.Output, "FAIL") && strings.Contains(ev.Output, "[build failed]") {
				r.buildFailed = append(r.buildFailed, ev.Package)
			}
		case "pass", "fail", "skip":
			if ev.Test == "" {
				if ev.Action == "fail" && !slices.ContainsFunc(r.failed, func(s string) bool { return strings.HasPrefix(s, ev.Package+" ") }) {
					r.failed = append(r.failed, ev.Package+" (package)")
				}
				continue
			}
			outcome[name] = ev.Action
			switch ev.Action {
			case "pass":
				r.passed = append(r.passed, name)
			case "fail":
				r.failed = append(r.failed, name)
			case "skip":
				r.skipped = append(r.skipped, name)
				r.skipReasons = append(r.skipReasons, shortTest(name)+": "+strings.TrimSpace(logPrefix.ReplaceAllString(lastOutput[name], "")))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// A subtest's failure fails its parents; a stage belongs to the test
	// that logged it.
	for _, l := range logs {
		text := logPrefix.ReplaceAllString(l.text, "")
		if text == l.text {
			continue // not a t.Log line
		}
		failed := outcome[l.test] == "fail"
		if m := stageLine.FindStringSubmatch(text); m != nil {
			cos, err1 := strconv.ParseFloat(m[2], 64)
			abs, err2 := strconv.ParseFloat(m[3], 64)
			if err1 != nil || err2 != nil {
				continue
			}
			label := strings.TrimSpace(m[1])
			// "q8/image layer_out.0" logged by TestLadder/q8/image: the
			// test name already says q8/image.
			if first, rest, ok := strings.Cut(label, " "); ok && strings.HasSuffix(l.test, "/"+first) {
				label = strings.TrimSpace(rest)
			}
			key := shortTest(l.test) + " " + layerIdx.ReplaceAllString(label, ".*")
			i := slices.IndexFunc(r.stages, func(s stageRow) bool { return s.key == key })
			if i < 0 {
				r.stages = append(r.stages, stageRow{key: key, minCos: math.Inf(1), test: l.test})
				i = len(r.stages) - 1
			}
			s := &r.stages[i]
			s.count++
			s.minCos = math.Min(s.minCos, cos)
			if math.IsNaN(cos) {
				s.minCos = cos
			}
			s.maxAbs = math.Max(s.maxAbs, abs)
			if math.IsNaN(abs) {
				s.maxAbs = abs
			}
			s.testFailed = s.testFailed || failed
		}
		if m := greedy.FindStringSubmatch(text); m != nil {
			eq, _ := strconv.Atoi(m[1])
			of, _ := strconv.Atoi(m[2])
			r.tokens = append(r.tokens, tokensRow{test: l.test, equal: eq, of: of, testFailed: failed})
		}
	}
	return r, nil
}

// shortTest keeps the package's last element: "decoder TestLadder/q8/image".
func shortTest(name string) string {
	pkg, test, _ := strings.Cut(name, " ")
	return pkg[strings.LastIndexByte(pkg, '/')+1:] + " " + test
}

// step is one line of steps.tsv: name, exit status, seconds, and why it
// could not run (when it could not).
type step struct {
	name    string
	status  int
	seconds float64
	reason  string
}

func readSteps(path string) ([]step, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []step
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		st, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s: step %q has status %q", path, f[0], f[1])
		}
		s := step{name: f[0], status: st}
		if len(f) > 2 {
			s.seconds, _ = strconv.ParseFloat(f[2], 64)
		}
		if len(f) > 3 {
			s.reason = f[3]
		}
		out = append(out, s)
	}
	return out, nil
}

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

func readBench(path string) (*benchResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r benchResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// table accumulates the report and counts mismatches.
type table struct {
	w        io.Writer
	failures []string
}

func (t *table) row(label, value, status string) {
	fmt.Fprintf(t.w, "%-60s %-36s %s\n", label, value, status)
}

// note is an indented line under a row (a reason, a failed test's name).
func (t *table) note(text string) { fmt.Fprintln(t.w, "  "+text) }

func (t *table) fail(what string) string {
	t.failures = append(t.failures, what)
	return "MISMATCH"
}

// report reads dir and writes the table to w. It returns the mismatches:
// any step that failed, any test that failed or did not build, a Metal
// test that skipped, a bench without a finite decode speed, a failed
// Core AI check. Missing files are reported as such (a step that did not
// run is a mismatch too).
func report(dir string, w io.Writer) ([]string, error) {
	t := &table{w: w}
	info, _ := os.ReadFile(filepath.Join(dir, fileInfo))
	fmt.Fprintln(w, "vlmrt apple-check")
	for _, line := range strings.Split(strings.TrimSpace(string(info)), "\n") {
		if line != "" {
			fmt.Fprintln(w, "  "+line)
		}
	}
	fmt.Fprintln(w)
	t.row("check", "value", "status")
	t.row(strings.Repeat("-", 60), strings.Repeat("-", 36), "--------")

	steps, err := readSteps(filepath.Join(dir, fileSteps))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	notRun := map[string]bool{}
	for _, s := range steps {
		status := "ok"
		if s.status != 0 {
			status = t.fail("step " + s.name)
		}
		if s.reason != "" {
			notRun[s.name] = true
			t.row("step "+s.name, "not run", status)
			t.note(s.reason)
			continue
		}
		t.row("step "+s.name, fmt.Sprintf("exit %d, %.0f s", s.status, s.seconds), status)
	}

	for _, f := range []struct{ file, what, step string }{{fileKernels, "kernel tests", "kernel tests"}, {fileLadder, "golden ladder on Metal", "golden ladder"}} {
		run, err := readTestRun(filepath.Join(dir, f.file))
		if errors.Is(err, fs.ErrNotExist) && notRun[f.step] {
			continue // the step's row says why
		}
		if errors.Is(err, fs.ErrNotExist) {
			t.row(f.what, "not run ("+f.file+" missing)", t.fail(f.what+" not run"))
			continue
		}
		if err != nil {
			return nil, err
		}
		t.tests(f.what, run)
	}

	b, err := readBench(filepath.Join(dir, fileBench))
	switch {
	case errors.Is(err, fs.ErrNotExist) && notRun["bench"]:
	case errors.Is(err, fs.ErrNotExist):
		t.row("bench", "not run ("+fileBench+" missing)", t.fail("bench not run"))
	case err != nil:
		t.row("bench", err.Error(), t.fail("bench unreadable"))
	default:
		t.bench(b)
	}

	t.coreAI(filepath.Join(dir, fileCoreAI))

	fmt.Fprintln(w)
	if len(t.failures) == 0 {
		fmt.Fprintln(w, "RESULT: PASS — every check ran and matched")
	} else {
		fmt.Fprintf(w, "RESULT: FAIL — %d mismatch(es): %s\n", len(t.failures), strings.Join(t.failures, "; "))
	}
	return t.failures, nil
}

func (t *table) tests(what string, run *testRun) {
	for _, p := range run.buildFailed {
		t.row(what+": build", p, t.fail(what+" build: "+p))
	}
	for _, s := range run.stages {
		status := "ok"
		if s.testFailed {
			status = t.fail(s.key)
		}
		label := s.key
		if s.count > 1 {
			label += fmt.Sprintf(" (%d)", s.count)
		}
		t.row(trim(label, 60), fmt.Sprintf("cosine %.8f  max abs %.3g", s.minCos, s.maxAbs), status)
	}
	for _, k := range run.tokens {
		status, eq := "ok", "equal"
		if k.testFailed {
			status, eq = t.fail("tokens "+shortTest(k.test)), "DIFFERENT"
		}
		t.row(trim("tokens "+shortTest(k.test), 60), fmt.Sprintf("%d/%d compared, %s", k.equal, k.of, eq), status)
	}
	// A test skipped for want of Metal means the check did not run; a
	// skip for anything else (a shader tool not installed) is only listed.
	var metalSkips []string
	for _, r := range run.skipReasons {
		_, reason, _ := strings.Cut(r, ": ")
		if strings.Contains(strings.ToLower(reason), "metal") {
			metalSkips = append(metalSkips, r)
		}
	}
	status := "ok"
	if len(run.failed) > 0 || len(run.passed) == 0 || len(metalSkips) > 0 {
		status = t.fail(what)
	}
	t.row(what, fmt.Sprintf("%d passed, %d failed, %d skipped", len(run.passed), len(run.failed), len(run.skipped)), status)
	for _, f := range run.failed {
		t.note("failed: " + shortTest(f))
	}
	for _, r := range run.skipReasons {
		t.note("skipped: " + trim(r, 160))
	}
}

func (t *table) bench(b *benchResult) {
	name := strings.TrimSpace(b.Model + " " + b.Backend + " " + b.Device)
	status := "ok"
	if !(b.DecodeTokS > 0) || math.IsInf(b.DecodeTokS, 0) {
		status = t.fail("bench decode speed")
	}
	t.row("decode ("+name+")", fmt.Sprintf("%.1f tok/s", b.DecodeTokS), status)
	t.row("bytes per token", fmt.Sprintf("%.3f GB", float64(b.BytesPerToken)/1e9), "")
	t.row("measured bandwidth", fmt.Sprintf("%.0f GB/s", b.ReadBandwidthGBs), "")
	t.row("decode bandwidth ratio", fmt.Sprintf("%.2f", b.DecodeBandwidthRatio), "")
	dispatches := 0
	if b.DispatchesPerToken != nil {
		dispatches = int(math.Round(*b.DispatchesPerToken))
		t.row("dispatches per token", strconv.Itoa(dispatches), "")
	}
	if b.PrefillTokS > 0 {
		t.row("prefill", fmt.Sprintf("%.1f tok/s", b.PrefillTokS), "")
	}
	t.row("vision (one 448×448 image)", fmt.Sprintf("%.0f ms", b.VisionMs), "")
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
		t.row("performance model (docs/apple.md)", fmt.Sprintf("%.1f tok/s, ratio %.2f predicted", p.TokS, p.Ratio), verdict)
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
		t.row("Core AI bridge", "not run ("+fileCoreAI+" missing)", t.fail("Core AI check not run"))
		return
	}
	text := strings.TrimSpace(string(b))
	if reason, ok := strings.CutPrefix(text, "SKIP "); ok {
		t.row("Core AI bridge", "skipped", reason)
		return
	}
	var ok, failed int
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "ok "):
			ok++
		case strings.HasPrefix(line, "FAIL "):
			failed++
			t.note("Core AI: " + strings.TrimSpace(strings.TrimPrefix(line, "FAIL ")))
		}
	}
	status := "ok"
	if failed > 0 || ok == 0 {
		status = t.fail("Core AI bridge")
	}
	t.row("Core AI bridge self-check", fmt.Sprintf("%d ok, %d failed", ok, failed), status)
}

func trim(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
