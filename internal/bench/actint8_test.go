package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/kernels"
)

// TestRunActInt8: --act-int8 measures decode and each batch size with and
// without the opt-in, reports them in the JSON and the table, and leaves
// the engine on the default numerics; a GPU backend is refused.
func TestRunActInt8(t *testing.T) {
	opt := tinyOptions()
	opt.Skip = []string{StepVision, StepBandwidth, StepPeak, StepPrefill, StepPrefillS1}
	opt.Batch, opt.BatchTokens, opt.ActInt8 = []int{2}, 3, true
	res, err := Run(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := res.ActInt8
	if a == nil || a.Kernels != kernels.Q8Q8Path() || !(a.DecodeTokS > 0) || !(a.F32DecodeTokS >= res.DecodeTokS) || a.Speedup != a.DecodeTokS/a.F32DecodeTokS {
		t.Fatalf("act-int8 result %+v (default decode %v)", a, res.DecodeTokS)
	}
	if len(a.BatchDecode) != 2 || a.BatchDecode[0].B != 1 || a.BatchDecode[1].B != 2 || !(a.BatchDecode[1].TokS > 0) || !(a.BatchDecode[1].F32TokS > 0) || a.BatchDecode[0].Ratio != 1 {
		t.Fatalf("act-int8 batch %+v", a.BatchDecode)
	}
	js, _ := json.Marshal(res)
	if !strings.Contains(string(js), `"act_int8":{"kernels":`) {
		t.Errorf("JSON lacks act_int8: %s", js)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	if !strings.Contains(table.String(), "act-int8 decode") || !strings.Contains(table.String(), "act-int8 / default") {
		t.Errorf("table:\n%s", table.String())
	}
	opt.Backend = "vulkan"
	if _, err := Run(context.Background(), opt, nil); err == nil || !strings.Contains(err.Error(), "act-int8") {
		t.Errorf("act-int8 on vulkan: %v", err)
	}
}
