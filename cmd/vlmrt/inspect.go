package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vlmrt/vlmrt"
)

func init() {
	register(command{
		name:    "inspect",
		summary: "summarize a checkpoint or bundle: architecture, sizes, quantization, decode cost, problems",
		run:     runInspect,
	})
}

func runInspect(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", "PATH [--json]", stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want exactly one PATH (a checkpoint or bundle directory)")
	}
	r, err := vlmrt.Inspect(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	_, err = fmt.Fprint(stdout, r)
	return err
}
