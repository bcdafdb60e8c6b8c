package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/vision"
)

// Native-resolution cost: under --resize native an image's token count —
// and with it vision encode and prefill work — follows its size and the
// pixel budget. For each budget (in image tokens, 1,024 pixels each) the
// bench encodes two typical inputs of random pixels: a 4:3 photo (4032×3024)
// and a portrait document page (US letter at 200 dpi, 1700×2200), and
// prefills a prompt holding that image.

// budgetInputs are the image shapes measured at each budget.
var budgetInputs = []struct {
	name          string
	width, height int
}{
	{"photo 4032x3024", 4032, 3024},
	{"page 1700x2200", 1700, 2200},
}

// BudgetResult is one image at one budget.
type BudgetResult struct {
	Image         string  `json:"image"`
	MaxTokens     int     `json:"max_image_tokens"`
	GridH         int     `json:"grid_h"` // patches
	GridW         int     `json:"grid_w"`
	ImageTokens   int     `json:"image_tokens"`
	VisionMs      float64 `json:"vision_ms"`
	VisionGFLOPs  float64 `json:"vision_gflops"`
	PrefillTokens int     `json:"prefill_tokens"`
	PrefillTokS   float64 `json:"prefill_tok_s"`
}

// measureBudgets runs the image-token sweep of opt.ImageTokens.
func measureBudgets(ctx context.Context, e *engine.Engine, opt Options, rng *rand.Rand, progress func(string)) ([]BudgetResult, error) {
	cfg, g := e.Config, e.Grid
	factor := g.PatchSize * g.MergeSize
	var out []BudgetResult
	for _, n := range opt.ImageTokens {
		for _, in := range budgetInputs {
			h, w, err := vision.SmartResize(in.height, in.width, factor, vision.Budget{MaxPixels: int64(n) * int64(factor*factor)})
			if err != nil {
				return nil, fmt.Errorf("bench: image budget %d tokens: %w", n, err)
			}
			gh, gw := h/g.PatchSize, w/g.PatchSize
			patches := make([]float32, gh*gw*g.PatchDim())
			for i := range patches {
				patches[i] = 2*rng.Float32() - 1
			}
			progress(fmt.Sprintf("native image budget %d tokens: %s → %dx%d (%d patches)", n, in.name, w, h, gh*gw))
			img, err := e.EncodeGrid(ctx, patches, gh, gw)
			if err != nil {
				return nil, err
			}
			r := BudgetResult{Image: in.name, MaxTokens: n, GridH: gh, GridW: gw, ImageTokens: img.Tokens(),
				VisionMs: float64(img.EncodeTime.Nanoseconds()) / 1e6}
			r.VisionGFLOPs = VisionFLOPs(cfg, gh, gw) / 1e9 / img.EncodeTime.Seconds()
			// The prompt: chat framing, the image, 15 tokens of question.
			ids, err := promptIDs(cfg, e.Backend.Info().Vocab, img.Tokens(), img.Tokens()+15, rng)
			if err != nil {
				return nil, err
			}
			st, err := prefill(ctx, e, ids, img, opt.PrefillChunk)
			if err != nil {
				return nil, fmt.Errorf("bench: prefill at image budget %d: %w", n, err)
			}
			r.PrefillTokens, r.PrefillTokS = st.PrefillTokens, st.PrefillTokPerSec()
			out = append(out, r)
		}
	}
	return out, nil
}

// writeBudgetTable prints the sweep under the main table.
func writeBudgetTable(w io.Writer, rs []BudgetResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nnative resolution (--image-tokens)\n%-18s %10s %8s %8s %10s %10s %12s\n", "image", "max tokens", "grid", "tokens", "vision ms", "GFLOP/s", "prefill tok/s")
	for _, r := range rs {
		fmt.Fprintf(w, "%-18s %10d %8s %8d %10.0f %10.1f %12.1f\n", r.Image, r.MaxTokens, fmt.Sprintf("%dx%d", r.GridH, r.GridW), r.ImageTokens, r.VisionMs, r.VisionGFLOPs, r.PrefillTokS)
	}
}
