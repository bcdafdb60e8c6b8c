package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/kernels"
)

// TestRunCompareActs: --compare-acts measures decode and each batch size
// in another activation format alternating with the run's own, reports
// them in the JSON and the table, and leaves the engine in its own format;
// a GPU backend is refused.
func TestRunCompareActs(t *testing.T) {
	opt := tinyOptions()
	opt.Skip = []string{StepVision, StepBandwidth, StepPeak, StepPrefill, StepPrefillS1}
	opt.Batch, opt.BatchTokens, opt.Acts, opt.CompareActs = []int{2}, 3, decoder.ActsInt16, []decoder.Acts{decoder.ActsInt8}
	res, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.DecodeActs != "int16" || len(res.CompareActs) != 1 {
		t.Fatalf("decode acts %q, %d comparisons", res.DecodeActs, len(res.CompareActs))
	}
	// Prompts take int16 too only where the path has the int16 product.
	if want := map[bool]string{true: "int16", false: "f32"}[kernels.PrefillQ16()]; res.PrefillActs != want {
		t.Errorf("prefill acts %q on path %s, want %q", res.PrefillActs, kernels.Path(), want)
	}
	a := res.CompareActs[0]
	if a.Acts != "int8" || a.Kernels != kernels.Q8Q8Path() || !(a.DecodeTokS > 0) || !(a.BaseDecodeTokS >= res.DecodeTokS) || a.Speedup != a.DecodeTokS/a.BaseDecodeTokS {
		t.Fatalf("int8 result %+v (int16 decode %v)", a, res.DecodeTokS)
	}
	if len(a.BatchDecode) != 2 || a.BatchDecode[0].B != 1 || a.BatchDecode[1].B != 2 || !(a.BatchDecode[1].TokS > 0) || !(a.BatchDecode[1].BaseTokS > 0) || a.BatchDecode[0].Ratio != 1 {
		t.Fatalf("int8 batch %+v", a.BatchDecode)
	}
	js, _ := json.Marshal(res)
	if !strings.Contains(string(js), `"decode_acts":"int16"`) || !strings.Contains(string(js), `"compare_acts":[{"acts":"int8","kernels":`) {
		t.Errorf("JSON lacks decode_acts or compare_acts: %s", js)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	if !strings.Contains(table.String(), "int8-activation decode") || !strings.Contains(table.String(), "int8 / int16") || !strings.Contains(table.String(), "int16 activations") {
		t.Errorf("table:\n%s", table.String())
	}
	opt.Backend = "vulkan"
	if _, err := Run(context.Background(), opt, nil); err == nil || !strings.Contains(err.Error(), "CPU-backend option") {
		t.Errorf("activation formats on vulkan: %v", err)
	}
}

// TestRunCompareActsPrefill: with the prefill measured, --compare-acts
// also times it in the other format, alternating with the run's own, and
// names the prompt's format under each.
func TestRunCompareActsPrefill(t *testing.T) {
	opt := tinyOptions()
	opt.Skip = []string{StepVision, StepBandwidth, StepPeak, StepPrefillS1}
	opt.Acts, opt.CompareActs = decoder.ActsInt16, []decoder.Acts{decoder.ActsFloat32}
	res, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := res.CompareActs[0]
	if a.PrefillActs != "f32" || !(a.PrefillTokS > 0) || !(a.BasePrefillTokS >= res.PrefillTokS) || a.PrefillSpeedup != a.PrefillTokS/a.BasePrefillTokS {
		t.Fatalf("f32 prefill %+v (int16 run's prefill %v)", a, res.PrefillTokS)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	if !strings.Contains(table.String(), "f32-activation batched prefill (f32 prompt)") {
		t.Errorf("table:\n%s", table.String())
	}
}
