package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/scripts/internal/checkrun"
)

// TestScriptOnAFakeMac runs scripts/apple-check.sh end to end on this
// machine with the Mac's commands stubbed on PATH (uname, sw_vers, sysctl,
// system_profiler, swift) and go wrapped so that build, test and the bench
// answer from fixtures while `go run ./scripts/applecheck` is real. It
// checks the script's own logic, which otherwise would first run on a
// Mac owner's machine: the steps recorded, the Core AI branch for macOS 27
// and below, the table, the archive, and the exit status.
func TestScriptOnAFakeMac(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIPPED: bash is not installed; scripts/apple-check.sh needs it")
	}
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIPPED: no go command on PATH to run the script's report step")
	}
	fixture, err := filepath.Abs("testdata/ladder_cpu.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		macos     string
		benchFail bool
		noGPU     bool // the GPU engine's packages and bench flag absent, as before issue 12 lands
		wantRC    int
		want      []string
	}{
		{"macOS 15, all pass", "15.3", false, false, 0, []string{"RESULT: PASS", "skipped", "the Core AI bridge needs macOS 27", "91.0 tok/s"}},
		{"macOS 27 with the bridge", "27.0", false, false, 0, []string{"RESULT: PASS", "Core AI bridge self-check", "3 ok, 0 failed"}},
		{"bench fails", "15.3", true, false, 1, []string{"RESULT: FAIL", "step bench"}},
		{"no GPU engine in this commit", "15.3", false, true, 1, []string{"RESULT: FAIL", "step golden ladder", "not in this commit", "no --backend flag"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := t.TempDir()
			out := filepath.Join(t.TempDir(), "out")
			stub := func(name, body string) {
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			stub("uname", `case "$1" in -s) echo Darwin ;; -m) echo arm64 ;; *) echo Darwin ;; esac`)
			stub("sw_vers", `case "$1" in -productVersion) echo `+c.macos+` ;; *) echo 24A000 ;; esac`)
			stub("sysctl", `case "$2" in hw.memsize) echo 68719476736 ;; *) echo "Apple M4 Max" ;; esac`)
			stub("system_profiler", `echo "      Chipset Model: Apple M4 Max"; echo "      Total Number of Cores: 40"`)
			stub("swift", `case "$1" in
build) echo built ;;
run) echo "ok    vlmrt_coreai_version() = 1, want 1"; echo "ok    reset(NULL): status 2" ;;
esac`)
			benchFlag, ladder := "backend", "./internal/decoder"
			if c.noGPU {
				benchFlag, ladder = "shape", "./internal/no-such-engine/..."
			}
			benchRC := "0"
			if c.benchFail {
				benchRC = "1"
			}
			stub("go", `case "$1" in
build)
	shift; while [ "$1" != "-o" ]; do shift; done
	printf '#!/bin/sh\ncase "$1 $2" in *--help*) echo "  -`+benchFlag+` string"; exit 0;; esac\necho "{\\"model\\":\\"4b\\",\\"backend\\":\\"metal\\",\\"decode_tok_s\\":91,\\"bytes_per_token\\":4273669120,\\"read_bandwidth_gbs\\":480,\\"decode_bandwidth_ratio\\":0.81,\\"vision_ms\\":170}"\nexit `+benchRC+`\n' > "$2"
	chmod +x "$2" ;;
test)
	case "$*" in *coreai*) echo ok ;; *) cat `+fixture+` ;; esac ;;
version) echo "go version go1.26 darwin/arm64" ;;
*) exec `+realGo+` "$@" ;;
esac`)
			text, rc, err := checkrun.RunScript(bash, "../apple-check.sh", bin, "APPLE_CHECK_OUT="+out, "APPLE_CHECK_LADDER_PKGS="+ladder)
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
			files := []string{"info.txt", "steps.tsv", "kernels.json", "coreai.txt", "table.txt"}
			if !c.noGPU {
				files = append(files, "ladder.json", "bench.json")
			}
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("the script left no %s: %v", f, err)
				}
			}
			if _, err := os.Stat(out + ".tar.gz"); err != nil {
				t.Errorf("no archive to send back: %v", err)
			}
			info, _ := os.ReadFile(filepath.Join(out, "info.txt"))
			for _, w := range []string{"chip: Apple M4 Max", "gpu: Apple M4 Max, 40", "memory: 64 GB", "macOS: " + c.macos, "commit: "} {
				if !strings.Contains(string(info), w) {
					t.Errorf("info.txt lacks %q:\n%s", w, info)
				}
			}
		})
	}
}
