package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/safetensors"
)

func init() {
	register(command{
		name:    "run",
		summary: "answer one prompt about an image (or text only), streaming the answer",
		run:     runRun,
	})
}

type runFlags struct {
	modelFlags
	genFlags
	images    stringList
	patches   stringList
	grid      string
	prompt    string
	promptIDs string
	system    string
	json      bool
	stats     bool
}

func runRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f runFlags
	fs := newFlagSet("run", "--model DIR [--image FILE ... | --patches FILE] (--prompt TEXT | --prompt-ids FILE) [flags]", stderr)
	f.modelFlags.register(fs)
	f.genFlags.register(fs)
	fs.Var(&f.images, "image", "image `FILE` (repeatable; JPEG, PNG, GIF, WebP, BMP, TIFF)")
	fs.Var(&f.patches, "patches", "expert: safetensors `FILE` with a precomputed `patches` tensor [784,1536] (F32/F16/BF16); repeatable; these images come before any --image")
	fs.StringVar(&f.grid, "grid", "", "expert, with --prompt-ids: the patch grid `HxW` of every --patches file for native-resolution input (default: the fixed 28x28)")
	fs.StringVar(&f.prompt, "prompt", "", "the question (rendered with the model's chat template); - reads stdin")
	fs.StringVar(&f.promptIDs, "prompt-ids", "", "expert: JSON `FILE` with the raw prompt token ids, image pads included (no template)")
	fs.StringVar(&f.system, "system", "", "system prompt")
	fs.BoolVar(&f.json, "json", false, "print one JSON object (prompt_ids, generated_ids, text, stats) instead of streaming text")
	fs.BoolVar(&f.stats, "stats", false, "print timing statistics to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q (put the question in --prompt)", fs.Arg(0))
	}
	if f.prompt == "" && f.promptIDs == "" && flagSet(fs, "prompt") {
		return usageError("--prompt is empty (give the question as its value)")
	}
	if f.grid != "" && f.promptIDs == "" {
		return usageError("--grid needs --prompt-ids (the chat template places fixed-grid images only)")
	}
	if (f.prompt == "") == (f.promptIDs == "") {
		return usageError("give exactly one of --prompt and --prompt-ids")
	}
	if f.prompt == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		f.prompt = strings.TrimRight(string(b), "\n")
	}
	gen, resize, err := f.genFlags.options()
	if err != nil {
		return err
	}
	budget, err := f.genFlags.imageBudget()
	if err != nil {
		return err
	}
	m, err := f.modelFlags.open(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	defer m.Close()

	out := &runOutput{w: stdout, stream: !f.json}
	var promptIDs []int32
	var st vlmrt.Stats
	if f.promptIDs != "" {
		promptIDs, st, err = runPromptIDs(ctx, m, &f, gen, resize, budget, out)
	} else {
		parts := make([]vlmrt.Part, 0, len(f.patches)+len(f.images)+1)
		info := m.Info()
		for _, path := range f.patches {
			p, err := readPatches(path, info.PatchGrid*info.PatchGrid, info.PatchDim)
			if err != nil {
				return err
			}
			parts = append(parts, vlmrt.ImagePatches(p))
		}
		for _, path := range f.images {
			parts = append(parts, vlmrt.ImageFile(path))
		}
		parts = append(parts, vlmrt.Text(f.prompt))
		chat := m.NewChat(vlmrt.WithSystem(f.system), vlmrt.WithGenerate(gen), vlmrt.WithResize(resize), vlmrt.WithImageBudget(budget))
		var resp *vlmrt.Response
		resp, err = chat.SendFunc(ctx, vlmrt.User(parts...), func(t vlmrt.Token) error { return out.token(t.ID, t.Text) })
		if resp != nil {
			st = resp.Stats
			hist := chat.Tokens()
			promptIDs = hist[:len(hist)-len(resp.Tokens)]
		}
	}
	if err != nil {
		return err
	}
	return out.finish(promptIDs, st, f.stats, m.Info().Device, stderr)
}

// runPromptIDs runs raw prompt ids (no chat template) through the
// library's expert entry, the images from --patches (on --grid) and
// --image filling their pads in that order.
func runPromptIDs(ctx context.Context, m *vlmrt.Model, f *runFlags, gen vlmrt.GenerateOptions, resize vlmrt.ResizeMode, budget vlmrt.ImageBudget, out *runOutput) ([]int32, vlmrt.Stats, error) {
	b, err := os.ReadFile(f.promptIDs)
	if err != nil {
		return nil, vlmrt.Stats{}, err
	}
	var ids []int32
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, vlmrt.Stats{}, fmt.Errorf("%s: want a JSON array of token ids: %v", f.promptIDs, err)
	}
	info := m.Info()
	gridH, gridW := info.PatchGrid, info.PatchGrid
	if f.grid != "" {
		if _, err := fmt.Sscanf(f.grid, "%dx%d", &gridH, &gridW); err != nil || gridH <= 0 || gridW <= 0 {
			return nil, vlmrt.Stats{}, usageError("--grid %q: want HxW in patches, e.g. 30x40", f.grid)
		}
	}
	req := vlmrt.RawRequest{IDs: ids, GenerateOptions: gen, Resize: resize, ImageBudget: budget}
	for _, path := range f.patches {
		p, err := readPatches(path, gridH*gridW, info.PatchDim)
		if err != nil {
			return nil, vlmrt.Stats{}, err
		}
		req.Images = append(req.Images, vlmrt.ImagePatchGrid(p, gridH, gridW))
	}
	for _, path := range f.images {
		req.Images = append(req.Images, vlmrt.ImageFile(path))
	}
	resp, err := m.GenerateIDs(ctx, req, func(t vlmrt.Token) error { return out.token(t.ID, t.Text) })
	if resp == nil {
		return ids, vlmrt.Stats{}, err
	}
	return ids, resp.Stats, err
}

// readPatches loads the `patches` tensor (F32, F16 or BF16) of a safetensors file.
func readPatches(path string, rows, cols int) ([]float32, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := f.Tensor("patches")
	if err != nil {
		return nil, err
	}
	if !slices.Equal(t.Shape, []int{rows, cols}) {
		return nil, fmt.Errorf("%s: tensor \"patches\" has shape %v, want [%d %d]", path, t.Shape, rows, cols)
	}
	return t.Float32s()
}

// runOutput streams text as it comes, or collects it for --json.
type runOutput struct {
	w      io.Writer
	stream bool
	ids    []int32
	text   strings.Builder
}

func (o *runOutput) token(id int32, text string) error {
	o.ids = append(o.ids, id)
	o.text.WriteString(text)
	if o.stream && text != "" {
		_, err := io.WriteString(o.w, text)
		return err
	}
	return nil
}

func (o *runOutput) finish(promptIDs []int32, st vlmrt.Stats, printStats bool, device string, stderr io.Writer) error {
	js := statsJSON(st)
	if printStats {
		fmt.Fprintf(stderr, "\n%s\n", formatStats(st, device))
	}
	if o.stream {
		_, err := io.WriteString(o.w, "\n")
		return err
	}
	enc := json.NewEncoder(o.w)
	enc.SetEscapeHTML(false)
	if promptIDs == nil {
		promptIDs = []int32{}
	}
	if o.ids == nil {
		o.ids = []int32{}
	}
	return enc.Encode(struct {
		PromptIDs    []int32  `json:"prompt_ids"`
		GeneratedIDs []int32  `json:"generated_ids"`
		Text         string   `json:"text"`
		Stats        statsOut `json:"stats"`
	}{promptIDs, o.ids, o.text.String(), js})
}

// statsOut is the JSON form of the turn statistics.
type statsOut struct {
	VisionEncodeMS  float64 `json:"vision_encode_ms"`
	PromptTokens    int     `json:"prompt_tokens"`
	PrefillTokens   int     `json:"prefill_tokens"`
	PrefillMS       float64 `json:"prefill_ms"`
	PrefillTokS     float64 `json:"prefill_tok_s"`
	TTFTMS          float64 `json:"time_to_first_token_ms"`
	GeneratedTokens int     `json:"generated_tokens"`
	DecodeTokS      float64 `json:"decode_tok_s"`
	TotalMS         float64 `json:"total_ms"`
	FinishReason    string  `json:"finish_reason"`
}

func statsJSON(s vlmrt.Stats) statsOut {
	ms := func(d interface{ Seconds() float64 }) float64 { return d.Seconds() * 1000 }
	return statsOut{
		VisionEncodeMS: ms(s.VisionEncode), PromptTokens: s.PromptTokens, PrefillTokens: s.PrefillTokens,
		PrefillMS: ms(s.Prefill), PrefillTokS: s.PrefillTokPerSec(), TTFTMS: ms(s.TimeToFirstToken),
		GeneratedTokens: s.GeneratedTokens, DecodeTokS: s.DecodeTokPerSec(), TotalMS: ms(s.Total), FinishReason: s.FinishReason,
	}
}

// flagSet reports whether the command line set the named flag (even to "").
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
