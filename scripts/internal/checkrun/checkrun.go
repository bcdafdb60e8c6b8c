// Package checkrun reads what the hardware check scripts leave in their
// output directories (scripts/apple-check.sh, scripts/cpu-check.sh): the
// steps they ran, go test -json logs, and writes the one table each check
// prints. The checks' own programs (scripts/applecheck, scripts/cpucheck)
// decide what a mismatch is; this package holds what they share.
package checkrun

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// testEvent is one line of `go test -json`.
type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// TestRun is what one go test -json file says.
type TestRun struct {
	Passed, Failed, Skipped []string    // "package Test" names
	SkipReasons             []string    // what each skip said
	Stages                  []StageRow  // cosine / max abs lines, in order
	Tokens                  []TokensRow // greedy comparisons
	BuildFailed             []string    // packages that did not build
}

// StageRow is one stage comparison a test logged ("… cosine C max abs M").
type StageRow struct {
	Key        string // test group and stage, layer indices folded: "TestLadder q8/image layer_out.*"
	Count      int    // lines folded into it
	MinCos     float64
	MaxAbs     float64
	Test       string
	TestFailed bool
}

// TokensRow is one greedy comparison ("greedy: N/M ...").
type TokensRow struct {
	Test       string
	Equal, Of  int
	TestFailed bool
}

var (
	// A test's log line: "    file_test.go:130: text".
	logPrefix = regexp.MustCompile(`^\s+\S+\.go:\d+: `)
	stageLine = regexp.MustCompile(`^(.*?)[:,]?\s+cosine\s+([-+0-9.eEInfNa]+)[,;]?\s+max abs\s+([-+0-9.eEInfNa]+)`)
	greedy    = regexp.MustCompile(`greedy: (\d+)/(\d+) `)
	layerIdx  = regexp.MustCompile(`\.\d+\b`)
)

// ReadTestRun parses a go test -json file. Lines that are not JSON (a
// build failure printed by go itself) are kept as build failures.
func ReadTestRun(path string) (*TestRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &TestRun{}
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
				r.BuildFailed = append(r.BuildFailed, s)
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
				r.BuildFailed = append(r.BuildFailed, ev.Package)
			}
		case "pass", "fail", "skip":
			if ev.Test == "" {
				if ev.Action == "fail" && !slices.ContainsFunc(r.Failed, func(s string) bool { return strings.HasPrefix(s, ev.Package+" ") }) {
					r.Failed = append(r.Failed, ev.Package+" (package)")
				}
				continue
			}
			outcome[name] = ev.Action
			switch ev.Action {
			case "pass":
				r.Passed = append(r.Passed, name)
			case "fail":
				r.Failed = append(r.Failed, name)
			case "skip":
				r.Skipped = append(r.Skipped, name)
				r.SkipReasons = append(r.SkipReasons, ShortTest(name)+": "+strings.TrimSpace(logPrefix.ReplaceAllString(lastOutput[name], "")))
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
			key := ShortTest(l.test) + " " + layerIdx.ReplaceAllString(label, ".*")
			i := slices.IndexFunc(r.Stages, func(s StageRow) bool { return s.Key == key })
			if i < 0 {
				r.Stages = append(r.Stages, StageRow{Key: key, MinCos: math.Inf(1), Test: l.test})
				i = len(r.Stages) - 1
			}
			s := &r.Stages[i]
			s.Count++
			s.MinCos = math.Min(s.MinCos, cos)
			if math.IsNaN(cos) {
				s.MinCos = cos
			}
			s.MaxAbs = math.Max(s.MaxAbs, abs)
			if math.IsNaN(abs) {
				s.MaxAbs = abs
			}
			s.TestFailed = s.TestFailed || failed
		}
		if m := greedy.FindStringSubmatch(text); m != nil {
			eq, _ := strconv.Atoi(m[1])
			of, _ := strconv.Atoi(m[2])
			r.Tokens = append(r.Tokens, TokensRow{Test: l.test, Equal: eq, Of: of, TestFailed: failed})
		}
	}
	return r, nil
}

// ShortTest keeps the package's last element: "decoder TestLadder/q8/image".
func ShortTest(name string) string {
	pkg, test, _ := strings.Cut(name, " ")
	return pkg[strings.LastIndexByte(pkg, '/')+1:] + " " + test
}

// Step is one line of steps.tsv: name, exit status, seconds, and why it
// could not run (when it could not).
type Step struct {
	Name    string
	Status  int
	Seconds float64
	Reason  string
}

// ReadSteps reads a steps.tsv.
func ReadSteps(path string) ([]Step, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Step
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		st, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s: step %q has status %q", path, f[0], f[1])
		}
		s := Step{Name: f[0], Status: st}
		if len(f) > 2 {
			s.Seconds, _ = strconv.ParseFloat(f[2], 64)
		}
		if len(f) > 3 {
			s.Reason = f[3]
		}
		out = append(out, s)
	}
	return out, nil
}

// Table accumulates the report and counts mismatches.
type Table struct {
	W        io.Writer
	Failures []string
	// Brief folds the passing stages of a test run into one row (the
	// worst cosine and the largest error over them) and its passing token
	// comparisons into another; failures still get a row each. For checks
	// that run the same ladder on many paths.
	Brief bool
}

// Row writes one line of the table: what was checked, its value, its status.
func (t *Table) Row(label, value, status string) {
	fmt.Fprintf(t.W, "%-60s %-36s %s\n", label, value, status)
}

// Note is an indented line under a row (a reason, a failed test's name).
func (t *Table) Note(text string) { fmt.Fprintln(t.W, "  "+text) }

// Fail records a mismatch and returns the status word for its row.
func (t *Table) Fail(what string) string {
	t.Failures = append(t.Failures, what)
	return "MISMATCH"
}

// Tests writes what one go test -json run says: build failures, each
// stage's cosine and max error, greedy token comparisons, and one row of
// counts. A failed test, no passed test, or a skip whose reason
// mustRun accepts (the check's own hardware missing: the check then did
// not run) is a mismatch; other skips are only listed.
func (t *Table) Tests(what string, run *TestRun, mustRun func(reason string) bool) {
	for _, p := range run.BuildFailed {
		t.Row(what+": build", p, t.Fail(what+" build: "+p))
	}
	var folded StageRow
	folded.MinCos = math.Inf(1)
	for _, s := range run.Stages {
		status := "ok"
		if s.TestFailed {
			status = t.Fail(s.Key)
		} else if t.Brief {
			folded.Count += s.Count
			if s.MinCos < folded.MinCos || math.IsNaN(s.MinCos) {
				folded.MinCos, folded.Key = s.MinCos, s.Key
			}
			folded.MaxAbs = math.Max(folded.MaxAbs, s.MaxAbs)
			continue
		}
		label := s.Key
		if s.Count > 1 {
			label += fmt.Sprintf(" (%d)", s.Count)
		}
		t.Row(Trim(label, 60), fmt.Sprintf("cosine %.8f  max abs %.3g", s.MinCos, s.MaxAbs), status)
	}
	if folded.Count > 0 {
		t.Row(Trim(fmt.Sprintf("%s: %d stage comparisons", what, folded.Count), 60), fmt.Sprintf("worst cosine %.8f  max abs %.3g", folded.MinCos, folded.MaxAbs), "ok")
		t.Note("worst cosine at " + Trim(folded.Key, 140))
	}
	equal := 0
	for _, k := range run.Tokens {
		status, eq := "ok", "equal"
		if k.TestFailed {
			status, eq = t.Fail("tokens "+ShortTest(k.Test)), "DIFFERENT"
		} else if t.Brief {
			equal++
			continue
		}
		t.Row(Trim("tokens "+ShortTest(k.Test), 60), fmt.Sprintf("%d/%d compared, %s", k.Equal, k.Of, eq), status)
	}
	if equal > 0 {
		t.Row(Trim(fmt.Sprintf("%s: greedy token comparisons", what), 60), fmt.Sprintf("%d, every one as its test wants", equal), "ok")
	}
	var mustSkips []string
	for _, r := range run.SkipReasons {
		_, reason, _ := strings.Cut(r, ": ")
		if mustRun != nil && mustRun(reason) {
			mustSkips = append(mustSkips, r)
		}
	}
	status := "ok"
	if len(run.Failed) > 0 || len(run.Passed) == 0 || len(mustSkips) > 0 {
		status = t.Fail(what)
	}
	t.Row(what, fmt.Sprintf("%d passed, %d failed, %d skipped", len(run.Passed), len(run.Failed), len(run.Skipped)), status)
	for _, f := range run.Failed {
		t.Note("failed: " + ShortTest(f))
	}
	for _, r := range run.SkipReasons {
		t.Note("skipped: " + Trim(r, 160))
	}
}

func Trim(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// Steps writes one row per step of steps.tsv (a failed step is a mismatch)
// and returns the names of the steps that could not run (their reason is
// noted under the row).
func (t *Table) Steps(steps []Step) (notRun map[string]bool) {
	notRun = map[string]bool{}
	for _, s := range steps {
		status := "ok"
		if s.Status != 0 {
			status = t.Fail("step " + s.Name)
		}
		if s.Reason != "" {
			notRun[s.Name] = true
			t.Row("step "+s.Name, "not run", status)
			t.Note(s.Reason)
			continue
		}
		t.Row("step "+s.Name, fmt.Sprintf("exit %d, %.0f s", s.Status, s.Seconds), status)
	}
	return notRun
}

// Header writes the check's title, its info.txt lines and the table's
// column heads.
func (t *Table) Header(title string, info []byte) {
	fmt.Fprintln(t.W, title)
	for _, line := range strings.Split(strings.TrimSpace(string(info)), "\n") {
		if line != "" {
			fmt.Fprintln(t.W, "  "+line)
		}
	}
	fmt.Fprintln(t.W)
	t.Row("check", "value", "status")
	t.Row(strings.Repeat("-", 60), strings.Repeat("-", 36), "--------")
}

// Result writes the closing verdict line.
func (t *Table) Result() {
	fmt.Fprintln(t.W)
	if len(t.Failures) == 0 {
		fmt.Fprintln(t.W, "RESULT: PASS — every check ran and matched")
	} else {
		fmt.Fprintf(t.W, "RESULT: FAIL — %d mismatch(es): %s\n", len(t.Failures), strings.Join(t.Failures, "; "))
	}
}

// RunScript runs a check script with bash, PATH led by dir bin (where a
// test puts its stubs) and env added, and returns what it printed
// (stdout and stderr) and its exit status; err is for a script that could
// not be started.
func RunScript(bash, script, bin string, env ...string) (output string, status int, err error) {
	cmd := exec.Command(bash, script)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode(), nil
	}
	return string(out), 0, err
}

// WriteFiles writes each name → body of files into dir (a test's fake
// output directory).
func WriteFiles(dir string, files map[string]string) error {
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ReadJSON reads the JSON file path (a bench's --json output) into a T.
func ReadJSON[T any](path string) (*T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &v, nil
}
