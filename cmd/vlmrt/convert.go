package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/hub"
)

func init() {
	register(command{
		name:    "convert",
		summary: "convert a Hugging Face checkpoint into a portable bundle (int8 decoder, fp16 vision)",
		run:     runConvert,
	})
}

func runConvert(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", "--from CHECKPOINT (--out DIR | --into BUNDLE) [flags]", stderr)
	from := fs.String("from", "", "Hugging Face checkpoint `DIR` (config.json + safetensors)")
	out := fs.String("out", "", "write a new decoder + vision bundle pair into `DIR`")
	into := fs.String("into", "", "add portable weights to the Core AI bundle pair at `PATH` (its .aimodel is not touched)")
	name := fs.String("name", "", "base `NAME` of the bundle directories (default: from the checkpoint)")
	fp16 := fs.Bool("fp16", false, "store every float tensor as float16 like the Core AI bundles, rounding values float16 cannot hold (default: such tensors keep the checkpoint's 16-bit dtype, so results are bit-identical)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError("unexpected argument %q", fs.Arg(0))
	case *from == "":
		return usageError("--from is required")
	case (*out == "") == (*into == ""):
		return usageError("give exactly one of --out and --into")
	}
	opts := bundle.ConvertOptions{Name: *name, RoundToFP16: *fp16, Notice: func(msg string) { fmt.Fprintln(stderr, "vlmrt convert: "+msg) }}
	if bar := newProgressBar(stderr); bar != nil {
		defer bar.clear()
		opts.Progress = func(done, total int64) {
			bar.update(hub.Progress{File: "converting " + filepath.Base(filepath.Clean(*from)), Index: 1, Count: 1, Done: done, Total: total})
		}
	}
	if *into != "" {
		if err := bundle.ConvertInto(ctx, *from, *into, opts); err != nil {
			return err
		}
		loc, err := bundle.Resolve(*into)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added portable weights to %s and %s\n", loc.Decoder.Dir, loc.Vision.Dir)
		return nil
	}
	if err := bundle.Convert(ctx, *from, *out, opts); err != nil {
		return err
	}
	dec, vis, err := bundle.BundleNames(*from, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(*out, dec), filepath.Join(*out, vis))
	return nil
}
