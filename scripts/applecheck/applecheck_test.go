package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/scripts/internal/checkrun"
)

// TestDecodeBytesMatchTheBench: the model's bytes per token, computed here
// matrix by matrix from the shapes, equal the bench's (README "Bytes and
// FLOPs per token", from decoder.Model.WeightBytes plus one embedding row).
func TestDecodeBytesMatchTheBench(t *testing.T) {
	want := map[string]int64{"2b": 1_827_983_360, "4b": 4_273_669_120, "8b": 8_041_111_552}
	for name, w := range want {
		cfg, err := shapeConfig(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeBytes(name, cfg).WeightBytes; got != w {
			t.Errorf("%s: %d bytes per token, the bench measures %d", name, got, w)
		}
	}
	cfg, _ := shapeConfig("4b")
	// 36 layers × K and V × 8 heads × 128 × 2 bytes.
	if got := decodeBytes("4b", cfg).KVBytesPerToken; got != 36*2*8*128*2 {
		t.Errorf("4B KV bytes per token %d", got)
	}
}

// TestDocStatesTheModel: the tables of docs/apple.md are this program's output,
// so the model apple-check tests is the one the docs state.
func TestDocStatesTheModel(t *testing.T) {
	var b bytes.Buffer
	if err := writeModel(&b); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../docs/apple.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, b.Bytes()) {
		t.Errorf("docs/apple.md does not contain the output of `go run ./scripts/applecheck model`:\n%s", b.String())
	}
}

func TestPredictSanity(t *testing.T) {
	// The seed card: 92.2 tok/s for the 4B on an M4 Max. The model at the
	// assumed measured bandwidth gives the same within a few percent.
	cfg, _ := shapeConfig("4b")
	s := decodeBytes("4b", cfg)
	p := predict(s.WeightBytes, 546*measuredFraction, modelDispatches(s.Layers))
	if p.TokS < 85 || p.TokS > 100 {
		t.Errorf("4B on an M4 Max: %.1f tok/s predicted, the seed measured 92.2", p.TokS)
	}
	if p.Ratio >= designEfficiency || p.Ratio < 0.7 {
		t.Errorf("ratio %.3f: must sit below η = %.2f by the dispatch and submit overheads", p.Ratio, designEfficiency)
	}
	// No overheads: exactly η.
	if q := predict(1e9, 100, 0); q.Ratio < designEfficiency*0.99 {
		t.Errorf("a 1 GB step at 100 GB/s: ratio %.3f, want about η", q.Ratio)
	}
}

// outDir builds an apple-check output directory from the CPU ladder's real
// go test -json output (the same log format the GPU ladder uses).
func outDir(t *testing.T, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	ladder, err := os.ReadFile("testdata/ladder_cpu.json")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		fileInfo:    "chip: Apple M4 Max\nmacOS: 15.3\ncommit: abc1234\n",
		fileSteps:   "build\t0\t12\nkernel tests\t0\t30\ngolden ladder\t0\t40\nbench\t0\t95\n",
		fileKernels: string(ladder),
		fileLadder:  string(ladder),
		fileBench:   `{"backend":"metal","device":"Apple M4 Max","model":"4b","decode_tok_s":90.1,"bytes_per_token":4273669120,"read_bandwidth_gbs":480,"decode_bandwidth_ratio":0.80,"vision_ms":180,"dispatches_per_token":436}`,
		fileCoreAI:  "SKIP macOS 15.3: Core AI needs macOS 27",
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
	var out bytes.Buffer
	failures, err := report(outDir(t, nil), &out)
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if len(failures) != 0 {
		t.Fatalf("failures %v in\n%s", failures, text)
	}
	for _, want := range []string{
		"chip: Apple M4 Max",
		// One row per stage, layers folded, worst over them.
		"decoder TestLadder/q8/image layer_out.* (5)",
		"decoder TestLadder/fp/text inputs_embeds",
		"cosine 1.00000000",
		"tokens decoder TestLadder/q8/multiturn",
		"compared, equal",
		"kernel tests", "7 passed, 0 failed, 0 skipped",
		"90.1 tok/s", "4.274 GB", "480 GB/s", "0.80", "436", "180 ms",
		"CONFIRMED",
		"Core AI bridge", "Core AI needs macOS 27",
		"RESULT: PASS",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

func TestReportMismatches(t *testing.T) {
	cases := []struct {
		name string
		edit func(dir string)
		want string
	}{
		{"a step failed", func(d string) { write(t, d, fileSteps, "build\t0\t1\nbench\t1\t3\n") }, "step bench"},
		{"a test failed", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, fileLadder))
			s := strings.Replace(string(b), `"Action":"pass","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestLadder/q8/image"`,
				`"Action":"fail","Package":"github.com/vlmrt/vlmrt/internal/decoder","Test":"TestLadder/q8/image"`, 1)
			write(t, d, fileLadder, s)
		}, "tokens decoder TestLadder/q8/image"},
		{"a Metal test skipped", func(d string) {
			write(t, d, fileKernels, `{"Action":"run","Package":"github.com/vlmrt/vlmrt/internal/metal","Test":"TestGPUDeviceAddOnMetal"}
{"Action":"output","Package":"github.com/vlmrt/vlmrt/internal/metal","Test":"TestGPUDeviceAddOnMetal","Output":"    gpu_darwin_test.go:22: no Metal device on this machine\n"}
{"Action":"skip","Package":"github.com/vlmrt/vlmrt/internal/metal","Test":"TestGPUDeviceAddOnMetal"}
{"Action":"run","Package":"github.com/vlmrt/vlmrt/internal/metal/mslbind","Test":"TestFixturesAreFresh"}
{"Action":"output","Package":"github.com/vlmrt/vlmrt/internal/metal/mslbind","Test":"TestFixturesAreFresh","Output":"    mslbind_test.go:240: SKIPPED: glslc or spirv-cross is not installed\n"}
{"Action":"skip","Package":"github.com/vlmrt/vlmrt/internal/metal/mslbind","Test":"TestFixturesAreFresh"}
{"Action":"run","Package":"github.com/vlmrt/vlmrt/internal/metal","Test":"TestSpecializeMSL"}
{"Action":"pass","Package":"github.com/vlmrt/vlmrt/internal/metal","Test":"TestSpecializeMSL"}
`)
		}, "kernel tests"},
		{"nothing passed", func(d string) { write(t, d, fileKernels, "") }, "kernel tests"},
		{"a package did not build", func(d string) {
			write(t, d, fileLadder, "# github.com/vlmrt/vlmrt/internal/gpu\ninternal/gpu/x.go:1:1: undefined: y\n")
		}, "golden ladder on Metal build"},
		{"no bench", func(d string) { os.Remove(filepath.Join(d, fileBench)) }, "bench not run"},
		{"bench without a decode speed", func(d string) { write(t, d, fileBench, `{"decode_tok_s":0}`) }, "bench decode speed"},
		{"no ladder", func(d string) { os.Remove(filepath.Join(d, fileLadder)) }, "golden ladder on Metal not run"},
		{"Core AI check failed", func(d string) {
			write(t, d, fileCoreAI, "ok    vlmrt_coreai_version() = 1, want 1\nFAIL  open(/x): status 2\n")
		}, "Core AI bridge"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		failures, err := report(outDir(t, c.edit), &out)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(failures) == 0 || !strings.Contains(strings.Join(failures, "; "), c.want) || !strings.Contains(out.String(), "RESULT: FAIL") {
			t.Errorf("%s: failures %v, want one naming %q\n%s", c.name, failures, c.want, out.String())
		}
	}
}

func TestReportModelVerdicts(t *testing.T) {
	for _, c := range []struct {
		tokS string
		want string
	}{{"90", "CONFIRMED"}, {"60", "slower than modelled"}, {"120", "faster than modelled"}} {
		var out bytes.Buffer
		dir := outDir(t, func(d string) {
			write(t, d, fileBench, `{"model":"4b","decode_tok_s":`+c.tokS+`,"bytes_per_token":4273669120,"read_bandwidth_gbs":480,"vision_ms":1}`)
		})
		failures, err := report(dir, &out)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%s tok/s: want %q in\n%s", c.tokS, c.want, out.String())
		}
		if len(failures) != 0 {
			t.Errorf("%s tok/s: a performance verdict is not a mismatch, got %v", c.tokS, failures)
		}
	}
}

// TestReportToolSkipIsNotAMismatch: a kernel package test that skips for a
// missing shader tool is listed, not counted against the Mac.
func TestReportToolSkipIsNotAMismatch(t *testing.T) {
	dir := outDir(t, func(d string) {
		write(t, d, fileKernels, `{"Action":"run","Package":"github.com/vlmrt/vlmrt/internal/metal/mslbind","Test":"TestFixturesAreFresh"}
{"Action":"output","Package":"github.com/vlmrt/vlmrt/internal/metal/mslbind","Test":"TestFixturesAreFresh","Output":"    mslbind_test.go:240: SKIPPED: glslc or spirv-cross is not installed\n"}
{"Action":"skip","Package":"github.com/vlmrt/vlmrt/internal/metal/mslbind","Test":"TestFixturesAreFresh"}
{"Action":"run","Package":"github.com/vlmrt/vlmrt/internal/metal","Test":"TestGPUDeviceAddOnMetal"}
{"Action":"pass","Package":"github.com/vlmrt/vlmrt/internal/metal","Test":"TestGPUDeviceAddOnMetal"}
`)
	})
	var out bytes.Buffer
	failures, err := report(dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 0 || !strings.Contains(out.String(), "skipped: mslbind TestFixturesAreFresh: SKIPPED: glslc") {
		t.Errorf("failures %v\n%s", failures, out.String())
	}
}
