package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/scripts/internal/checkrun"
)

// passJSON is go test -json of one passing test.
const passJSON = `{"Action":"run","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestGolden"}
{"Action":"output","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestGolden","Output":"    golden_test.go:40: logits: cosine 0.99999994 max abs 1.2e-05\n"}
{"Action":"pass","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestGolden"}
{"Action":"pass","Package":"github.com/vlmrt/vlmrt/internal/decoder"}
`

// failJSON is go test -json of one failing test.
const failJSON = `{"Action":"run","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestGolden"}
{"Action":"output","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestGolden","Output":"    golden_test.go:40: layer_out.3: cosine 0.93 max abs 4.5\n"}
{"Action":"fail","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestGolden"}
{"Action":"fail","Package":"github.com/vlmrt/vlmrt/internal/decoder"}
`

// benchJSON is a bench run's JSON with the fields the report reads.
func benchJSON(path string, decode, prefill, vision, b4 float64) string {
	return fmt.Sprintf(`{"model":"4b","threads":2,"cpus":2,"cpu_path":%q,"decode_acts":"int16","decode_tok_s":10.5,"read_bandwidth_gbs":54,"weights_pass_gbs":50,"decode_bandwidth_ratio":%g,"prefill_peak_ratio":%g,"vision_peak_ratio":%g,"peak_gflops":450,"batch_decode":[{"b":1,"ratio":1},{"b":4,"ratio":%g}]}`, path, decode, prefill, vision, b4)
}

// outDir is a cpu-check output directory of a 2-path machine where every
// step passed and every target is met; edit changes it.
func outDir(t *testing.T, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		fileInfo:              "cpu: AMD EPYC\nfeatures: avx2 fma f16c\ncommit: abc1234\n",
		fileSteps:             "build\t0\t10\npaths\t0\t1\nkernel tests\t0\t60\ngolden tests avx2\t0\t90\ngolden tests generic\t0\t200\nbench run 1\t0\t100\nbench run 2\t0\t100\nbench run 3\t0\t100\n",
		filePaths:             "avx2\ngeneric\n",
		fileKernels:           passJSON,
		"golden-avx2.json":    passJSON,
		"golden-generic.json": passJSON,
		"bench-1.json":        benchJSON("avx2", 0.91, 0.6, 0.55, 2.7),
		"bench-2.json":        benchJSON("avx2", 0.80, 0.6, 0.55, 2.6),
		"bench-3.json":        benchJSON("avx2", 0.88, 0.6, 0.55, 2.4),
	}
	if err := checkrun.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	return dir
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := checkrun.WriteFiles(dir, map[string]string{name: body}); err != nil {
		t.Fatal(err)
	}
}

func TestReportPasses(t *testing.T) {
	var b bytes.Buffer
	failures, err := report(outDir(t, nil), &b)
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(failures) != 0 {
		t.Errorf("failures %q on a passing directory:\n%s", failures, out)
	}
	// The median run decides (0.88 of 0.80, 0.88, 0.91), with the count
	// beside it; B = 4 is shown, and judged only on the Zen 5.
	for _, w := range []string{"RESULT: PASS", "cpu: AMD EPYC", "kernel paths (best first)", "avx2 generic",
		"golden tests on generic", "decode_bandwidth_ratio ≥ 0.85", "median 0.88; 2 of 3 runs", "runs: 0.91 0.80 0.88",
		"prefill_peak_ratio ≥ 0.5", "median 2.60; 2 of 3 runs", "450 GFLOP/s", "logits"} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
}

func TestReportFailures(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(dir string)
		want string // in the RESULT line
	}{
		{"decode below target", func(dir string) {
			write(t, dir, "bench-1.json", benchJSON("avx2", 0.80, 0.6, 0.55, 2.7))
		}, "decode_bandwidth_ratio 0.80 < 0.85"},
		{"vision below half the peak", func(dir string) {
			for i := 1; i <= 3; i++ {
				write(t, dir, fmt.Sprintf("bench-%d.json", i), benchJSON("avx2", 0.9, 0.6, 0.45, 2.7))
			}
		}, "vision_peak_ratio 0.45 < 0.50"},
		{"wrong path taken", func(dir string) {
			write(t, dir, "bench-2.json", benchJSON("generic", 0.9, 0.6, 0.55, 2.7))
		}, `took path "generic", not the CPU's best "avx2"`},
		{"golden test failed on a path", func(dir string) {
			write(t, dir, "golden-generic.json", failJSON)
		}, "golden tests on generic"},
		// Brief folds passing stages only: a failing one keeps its row.
		{"a failing stage is listed", func(dir string) {
			write(t, dir, "golden-generic.json", failJSON)
		}, "decoder TestGolden layer_out.*"},
		{"golden tests not run", func(dir string) {
			os.Remove(filepath.Join(dir, "golden-avx2.json"))
		}, "golden tests on avx2 not run"},
		{"a step failed", func(dir string) {
			write(t, dir, fileSteps, "build\t0\t10\nkernel tests\t1\t60\n")
		}, "step kernel tests"},
		{"no bench", func(dir string) {
			for i := 1; i <= 3; i++ {
				os.Remove(filepath.Join(dir, fmt.Sprintf("bench-%d.json", i)))
			}
		}, "bench not run"},
		{"forced path not taken", func(dir string) {
			write(t, dir, filePaths, "avx512vnni\navx2\ngeneric\n")
			write(t, dir, "golden-avx512vnni.json", passJSON)
			for i := 1; i <= 3; i++ {
				write(t, dir, fmt.Sprintf("bench-%d.json", i), benchJSON("avx512vnni", 0.9, 0.6, 0.55, 2.7))
			}
			write(t, dir, "bench-avx2.json", benchJSON("avx512vnni", 0.9, 0, 0, 0))
		}, `VLMRT_CPU=avx2 bench took path "avx512vnni"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			failures, err := report(outDir(t, c.edit), &b)
			if err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if len(failures) == 0 || !strings.Contains(out, "RESULT: FAIL") || !strings.Contains(out, c.want) {
				t.Errorf("want a failure naming %q, got %q:\n%s", c.want, failures, out)
			}
		})
	}
}

// TestReportLowerPathNotJudged: decode forced onto a lower path is shown
// against the target but, being a stand-in for another machine, does not
// fail the check.
func TestReportLowerPathNotJudged(t *testing.T) {
	dir := outDir(t, func(dir string) {
		write(t, dir, filePaths, "avx512vnni\navx2\ngeneric\n")
		write(t, dir, "golden-avx512vnni.json", passJSON)
		for i := 1; i <= 3; i++ {
			write(t, dir, fmt.Sprintf("bench-%d.json", i), benchJSON("avx512vnni", 0.93, 1.0, 0.6, 2.7))
		}
		write(t, dir, "bench-avx2.json", benchJSON("avx2", 0.81, 0, 0, 0))
	})
	var b bytes.Buffer
	failures, err := report(dir, &b)
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(failures) != 0 {
		t.Errorf("failures %q:\n%s", failures, out)
	}
	if !strings.Contains(out, "decode forced to avx2 (VLMRT_CPU)") || !strings.Contains(out, "ratio 0.81") || !strings.Contains(out, "not judged") {
		t.Errorf("the forced path's row is missing:\n%s", out)
	}
}

// TestScriptOnAFakeMachine runs scripts/cpu-check.sh end to end with go
// stubbed on PATH (build writes a fake vlmrt whose bench prints JSON, test
// prints go test -json, run ./scripts/cpupaths prints two paths) while
// `go run ./scripts/cpucheck` is real: the steps it records, the files it
// leaves, the table, the archive and the exit status.
func TestScriptOnAFakeMachine(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIPPED: bash is not installed; scripts/cpu-check.sh needs it")
	}
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIPPED: no go command on PATH to run the script's report step")
	}
	for _, c := range []struct {
		name   string
		decode string // the fake bench's decode_bandwidth_ratio
		wantRC int
		want   []string
	}{
		{"targets met", "0.9", 0, []string{"RESULT: PASS", "median 0.90; 2 of 2 runs", "golden tests on generic"}},
		{"decode below target", "0.7", 1, []string{"RESULT: FAIL", "decode_bandwidth_ratio 0.70 < 0.85"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := t.TempDir()
			out := filepath.Join(t.TempDir(), "out")
			stub := `#!/bin/sh
case "$1" in
build)
	shift; while [ "$1" != "-o" ]; do shift; done
	printf '#!/bin/sh\npath=${VLMRT_CPU:-avx2}\necho "{\\"model\\":\\"4b\\",\\"threads\\":2,\\"cpus\\":2,\\"cpu_path\\":\\"$path\\",\\"decode_tok_s\\":10,\\"decode_bandwidth_ratio\\":` + c.decode + `,\\"prefill_peak_ratio\\":0.7,\\"vision_peak_ratio\\":0.6,\\"batch_decode\\":[{\\"b\\":4,\\"ratio\\":2.6}]}"\n' > "$2"
	chmod +x "$2" ;;
test) cat ` + filepath.Join(bin, "pass.json") + ` ;;
version) echo "go version go1.26 linux/amd64" ;;
run)
	case "$2" in ./scripts/cpupaths) printf 'avx2\ngeneric\n' ;; *) exec ` + realGo + ` "$@" ;; esac ;;
*) exec ` + realGo + ` "$@" ;;
esac
`
			if err := os.WriteFile(filepath.Join(bin, "go"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, bin, "pass.json", passJSON)
			text, rc, err := checkrun.RunScript(bash, "../cpu-check.sh", bin, "CPU_CHECK_OUT="+out, "CPU_CHECK_RUNS=2", "CPU_CHECK_SHAPE=4b", "CPU_CHECK_SETTLE=0")
			if err != nil {
				t.Fatal(err)
			}
			if rc != c.wantRC {
				t.Errorf("exit %d, want %d\n%s", rc, c.wantRC, text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			for _, f := range []string{"info.txt", "steps.tsv", "paths.txt", "kernels.json", "golden-avx2.json", "golden-generic.json", "bench-1.json", "bench-2.json", "table.txt"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("the script left no %s: %v", f, err)
				}
			}
			// generic is the only lower path, and it gets no bench.
			if _, err := os.Stat(filepath.Join(out, "bench-generic.json")); err == nil {
				t.Errorf("a decode bench was forced onto the pure-Go path")
			}
			list, err := exec.Command("tar", "-tzf", out+".tar.gz").Output()
			if err != nil {
				t.Errorf("no archive to send back: %v", err)
			}
			if !strings.Contains(string(list), "out/table.txt") || strings.Contains(string(list), "out/vlmrt\n") {
				t.Errorf("the archive should hold the table and not the binary:\n%s", list)
			}
			info, _ := os.ReadFile(filepath.Join(out, "info.txt"))
			for _, w := range []string{"cpu: ", "memory: ", "commit: ", "shape: 4b"} {
				if !strings.Contains(string(info), w) {
					t.Errorf("info.txt lacks %q:\n%s", w, info)
				}
			}
		})
	}
}
