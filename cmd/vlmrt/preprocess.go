package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/vision"
)

func init() {
	register(command{
		name:    "preprocess",
		summary: "turn an image file into the model's patch tensor (safetensors)",
		run:     runPreprocess,
	})
}

func runPreprocess(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("preprocess", "--image FILE --out OUT.safetensors [--resize plain|letterbox|crop|native] [--max-pixels N]", stderr)
	imagePath := fs.String("image", "", "input image (JPEG, PNG, GIF, WebP, BMP or TIFF)")
	outPath := fs.String("out", "", "output safetensors file: patches F32 [h·w,1536] (t=1), grid_thw I64 [3] and resized U8 [H,W,3]")
	resize := fs.String("resize", "plain", "plain (stretch to 448×448, the fixed grid), letterbox (fit and pad), crop (center square), native (keep the aspect ratio, Hugging Face's smart_resize within --min-pixels..--max-pixels)")
	var minPixels, maxPixels, maxTokens int64
	registerBudgetFlags(fs, &minPixels, &maxPixels, &maxTokens)
	maxDecoded := fs.Int64("max-decoded-pixels", vision.DefaultMaxPixels, "refuse image files with more pixels than this")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	budget, err := budgetFrom(minPixels, maxPixels, maxTokens)
	if err != nil {
		return err
	}
	if *imagePath == "" || *outPath == "" {
		return usageError("--image and --out are required")
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments: %v", fs.Args())
	}
	mode, err := vision.ParseResizeMode(*resize)
	if err != nil {
		return usageError("%v", err)
	}
	p, err := vision.PreprocessFile(ctx, *imagePath, vision.PreprocessOptions{Resize: mode, MaxPixels: *maxDecoded, Budget: budget})
	if err != nil {
		return err
	}
	g, pg := p.Grid, p.Patch
	grid := make([]byte, 3*8)
	for i, v := range []int64{1, int64(pg.Rows), int64(pg.Cols)} {
		binary.LittleEndian.PutUint64(grid[8*i:], uint64(v))
	}
	patches := make([]byte, 4*len(p.Patches))
	for i, v := range p.Patches {
		binary.LittleEndian.PutUint32(patches[4*i:], math.Float32bits(v))
	}
	tensors := []safetensors.Tensor{
		{Name: "patches", DType: safetensors.F32, Shape: []int{pg.NumPatches(), g.PatchDim()}, Data: patches},
		{Name: "grid_thw", DType: safetensors.I64, Shape: []int{3}, Data: grid},
		{Name: "resized", DType: safetensors.U8, Shape: []int{p.Resized.Height, p.Resized.Width, 3}, Data: p.Resized.Pix},
	}
	meta := map[string]string{
		"source":     *imagePath,
		"resize":     mode.String(),
		"grid_thw":   fmt.Sprintf("1,%d,%d", pg.Rows, pg.Cols),
		"num_tokens": strconv.Itoa(pg.Tokens()),
	}
	if err := safetensors.WriteFile(*outPath, tensors, meta); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: patches [%d,%d] F32, grid_thw (1,%d,%d), resized [%d,%d,3] U8 (%s resize, %d image tokens)\n",
		*outPath, pg.NumPatches(), g.PatchDim(), pg.Rows, pg.Cols, p.Resized.Height, p.Resized.Width, mode, pg.Tokens())
	return nil
}
