package decoder

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// The tiny-a oracle goldens (testdata/tiny-a/golden/README.md).
const (
	checkpointDir = "../../testdata/tiny-a"
	goldenDir     = checkpointDir + "/golden/"
	imagePad      = 151655
	// Argmax must agree wherever the oracle's top-2 margin is at least this.
	healthyMargin = 0.1
	// Hidden states must match the oracle at least this closely.
	minCosine = 0.99999
	// Logits of a float32 engine land within ~1e-3 of the float64 oracle.
	logitTol = 1e-3
)

type goldenPrompt struct {
	Image           *string    `json:"image"`
	IDs             []int32    `json:"ids"`
	ExtIDs          []int32    `json:"ext_ids"`
	ImageStart      *int       `json:"image_start"`
	RopeShiftStart  int32      `json:"rope_shift_start"`
	RopeShiftAmount int32      `json:"rope_shift_amount"`
	PositionsTHW    [][3]int32 `json:"positions_thw"`
	RecordPositions []int      `json:"record_positions"`
}

type goldenInputs struct {
	VocabSize  int                     `json:"vocab_size"`
	GridMerged [2]int                  `json:"grid_merged"`
	Prompts    map[string]goldenPrompt `json:"prompts"`
}

type goldenGreedy struct {
	Tokens     []int32     `json:"tokens"`
	Top5IDs    [][]int32   `json:"top5_ids"`
	Top5Logits [][]float64 `json:"top5_logits"`
	Top2Margin []float64   `json:"top2_margin"`
}

type goldenDecoder struct {
	NumTokens           int          `json:"num_tokens"`
	Argmax              []int32      `json:"argmax"`
	Top5IDs             [][]int32    `json:"top5_ids"`
	Top5Logits          [][]float64  `json:"top5_logits"`
	Top2Margin          []float64    `json:"top2_margin"`
	FullLogitsPositions []int        `json:"full_logits_positions"`
	Greedy              goldenGreedy `json:"greedy"`
}

type goldenCase struct {
	IDs          []int32    `json:"ids"`
	PositionsTHW [][3]int32 `json:"positions_thw"`
	FP, Q8       struct {
		IDs     []int32   `json:"ids"`
		Greedy  []int32   `json:"greedy"`
		Margins []float64 `json:"margins"`
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadInputs(t testing.TB) goldenInputs {
	var in goldenInputs
	readJSON(t, goldenDir+"inputs.json", &in)
	return in
}

func loadDecoderGolden(t testing.TB, mode string) map[string]goldenDecoder {
	var d struct {
		Prompts map[string]goldenDecoder `json:"prompts"`
	}
	readJSON(t, goldenDir+"decoder_"+mode+".json", &d)
	return d.Prompts
}

func loadCases(t testing.TB) map[string]goldenCase {
	var c struct {
		Cases map[string]goldenCase `json:"cases"`
	}
	readJSON(t, goldenDir+"more/cases.json", &c)
	for _, name := range []string{"two_images", "two_turns"} {
		if _, ok := c.Cases[name]; !ok {
			t.Fatalf("cases.json has no %q", name)
		}
	}
	return c.Cases
}

// tensorFile opens a golden safetensors file for the duration of the test.
func tensorFile(t testing.TB, name string) *safetensors.File {
	t.Helper()
	f, err := safetensors.Open(goldenDir + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func f32(t testing.TB, f *safetensors.File, name string) []float32 {
	t.Helper()
	tn, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tn.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func i32(t testing.TB, f *safetensors.File, name string) []int32 {
	t.Helper()
	tn, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tn.Int32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var (
	modelsMu sync.Mutex
	models   = map[weights.Precision]*Model{}
)

// tinyA loads (once per precision) the tiny-a decoder.
func tinyA(t testing.TB, p weights.Precision) *Model {
	t.Helper()
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if m := models[p]; m != nil {
		return m
	}
	ck, err := bundle.OpenCheckpoint(checkpointDir)
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoint stays mapped: the float embedding table is read in place.
	m, err := Load(context.Background(), ck.Tensors, ck.Config, p)
	if err != nil {
		t.Fatal(err)
	}
	models[p] = m
	return m
}

func modeOf(p weights.Precision) string {
	if p == weights.F32 {
		return "fp"
	}
	return "q8"
}

// imageStatic builds the fixed-grid Static of one golden image from the
// oracle's vision outputs, so these tests do not depend on the vision tower.
func imageStatic(t testing.TB, img string, firstPad int) *Static {
	vf := tensorFile(t, "vision.safetensors")
	ie := f32(t, vf, img+".image_embeds")
	ds := f32(t, vf, img+".deepstack_embeds")
	return &Static{
		ImageEmbeds: ie, DeepstackEmbeds: ds, Slots: 196,
		RopeShiftStart: int32(firstPad + 196), RopeShiftAmount: 196 - 14,
	}
}

// errStats accumulates cosine similarity and max abs difference.
type errStats struct {
	minCos, maxAbs float64
}

func newErrStats() errStats { return errStats{minCos: 1} }

func (e *errStats) add(got []float32, want []float32) {
	var dot, ng, nw float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		dot += g * w
		ng += g * g
		nw += w * w
		e.maxAbs = max(e.maxAbs, math.Abs(g-w))
	}
	c := dot / math.Sqrt(ng*nw)
	if ng == 0 && nw == 0 {
		c = 1
	}
	e.minCos = min(e.minCos, c)
}

// argmaxTop2 returns the index of the largest logit (lowest on ties) and
// the gap to the runner-up.
func argmaxTop2(x []float32) (int, float32) {
	best, second := 0, float32(math.Inf(-1))
	for i := 1; i < len(x); i++ {
		switch {
		case x[i] > x[best]:
			second = x[best]
			best = i
		case x[i] > second:
			second = x[i]
		}
	}
	return best, x[best] - second
}

// recorder is a Tracer keeping the hidden states at chosen sequence indices.
type recorder struct {
	want map[int]int // sequence index → row
	rows int
	got  map[string][]float32
	h    int
}

func newRecorder(positions []int, hidden int) *recorder {
	r := &recorder{want: map[int]int{}, rows: len(positions), got: map[string][]float32{}, h: hidden}
	for i, p := range positions {
		r.want[p] = i
	}
	return r
}

func stageName(stage Stage, layer int) string {
	if layer < 0 {
		return stage.String()
	}
	return stage.String() + "." + strconv.Itoa(layer)
}

func (r *recorder) Trace(stage Stage, layer, index int, h []float32) {
	row, ok := r.want[index]
	if !ok {
		return
	}
	name := stageName(stage, layer)
	buf := r.got[name]
	if buf == nil {
		buf = make([]float32, r.rows*r.h)
		r.got[name] = buf
	}
	copy(buf[row*r.h:(row+1)*r.h], h)
}
