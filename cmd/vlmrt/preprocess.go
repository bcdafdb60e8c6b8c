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
	fs := newFlagSet("preprocess", "--image FILE --out OUT.safetensors [--resize plain|letterbox|crop]", stderr)
	imagePath := fs.String("image", "", "input image (JPEG, PNG, GIF, WebP, BMP or TIFF)")
	outPath := fs.String("out", "", "output safetensors file: patches F32 [784,1536] and resized U8 [448,448,3]")
	resize := fs.String("resize", "plain", "how to make the image square: plain (stretch, as the model was trained), letterbox (fit and pad), crop (center square)")
	maxPixels := fs.Int64("max-pixels", vision.DefaultMaxPixels, "refuse images with more pixels than this")
	if err := parseFlags(fs, args); err != nil {
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
	p, err := vision.PreprocessFile(ctx, *imagePath, vision.PreprocessOptions{Resize: mode, MaxPixels: *maxPixels})
	if err != nil {
		return err
	}
	g := p.Grid
	patches := make([]byte, 4*len(p.Patches))
	for i, v := range p.Patches {
		binary.LittleEndian.PutUint32(patches[4*i:], math.Float32bits(v))
	}
	tensors := []safetensors.Tensor{
		{Name: "patches", DType: safetensors.F32, Shape: []int{g.NumPatches(), g.PatchDim()}, Data: patches},
		{Name: "resized", DType: safetensors.U8, Shape: []int{p.Resized.Height, p.Resized.Width, 3}, Data: p.Resized.Pix},
	}
	meta := map[string]string{
		"source":     *imagePath,
		"resize":     mode.String(),
		"grid_thw":   fmt.Sprintf("1,%d,%d", g.PatchesPerSide(), g.PatchesPerSide()),
		"num_tokens": strconv.Itoa(g.NumTokens()),
	}
	if err := safetensors.WriteFile(*outPath, tensors, meta); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: patches [%d,%d] F32, resized [%d,%d,3] U8 (%s resize, %d image tokens)\n",
		*outPath, g.NumPatches(), g.PatchDim(), p.Resized.Height, p.Resized.Width, mode, g.NumTokens())
	return nil
}
