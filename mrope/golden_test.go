package mrope

import (
	"encoding/json"
	"os"
	"testing"
)

const goldenDir = "../testdata/tiny-a/golden/"

type goldenPrompt struct {
	Image           *string    `json:"image"`
	IDs             []int32    `json:"ids"`
	ExtIDs          []int32    `json:"ext_ids"`
	ImageStart      *int       `json:"image_start"`
	RopeShiftStart  int32      `json:"rope_shift_start"`
	RopeShiftAmount int32      `json:"rope_shift_amount"`
	MRopeDelta      int32      `json:"mrope_position_delta"`
	PositionsTHW    [][3]int32 `json:"positions_thw"`
	NumTokens       int        `json:"num_tokens"`
	RecordPositions []int      `json:"record_positions"`
}

type goldenInputs struct {
	VocabSize      int                     `json:"vocab_size"`
	NumImageTokens int                     `json:"num_image_tokens"`
	GridMerged     [2]int                  `json:"grid_merged"`
	Prompts        map[string]goldenPrompt `json:"prompts"`
}

type goldenCase struct {
	IDs          []int32    `json:"ids"`
	GridTHW      []int      `json:"grid_thw"`
	PositionsTHW [][3]int32 `json:"positions_thw"`
	FP           struct {
		IDs []int32 `json:"ids"`
	} `json:"fp"`
	Q8 struct {
		IDs []int32 `json:"ids"`
	} `json:"q8"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadInputs(t *testing.T) goldenInputs {
	var in goldenInputs
	readJSON(t, goldenDir+"inputs.json", &in)
	if len(in.Prompts) != 3 {
		t.Fatalf("inputs.json: %d prompts, want 3", len(in.Prompts))
	}
	return in
}

func loadCases(t *testing.T) map[string]goldenCase {
	var c struct {
		Cases map[string]goldenCase `json:"cases"`
	}
	readJSON(t, goldenDir+"more/cases.json", &c)
	return c.Cases
}

const imagePad = 151655

func equalPositions(t *testing.T, what string, got, want [][3]int32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d positions, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: position %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}
