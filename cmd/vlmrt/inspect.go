package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vlmrt/vlmrt/internal/gpu"
	"github.com/vlmrt/vlmrt/internal/vulkan"
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
	fs := newFlagSet("inspect", "PATH [--json] | --devices [--json]", stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	devices := fs.Bool("devices", false, "list the GPUs this machine offers (Vulkan) instead of a model")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *devices {
		if fs.NArg() != 0 {
			return usageError("--devices takes no PATH")
		}
		return listDevices(stdout, *asJSON)
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

// deviceJSON is one GPU in `inspect --devices --json`.
type deviceJSON struct {
	API           string `json:"api"`
	Index         int    `json:"index"`
	Name          string `json:"name"`
	Type          string `json:"type"`
	Version       string `json:"version"`
	MemoryBytes   int64  `json:"memory_bytes"`
	SubgroupSize  int    `json:"subgroup_size"`
	UnifiedMemory bool   `json:"unified_memory"`
	Unusable      string `json:"unusable,omitempty"`
}

// listDevices prints the Vulkan devices the loader reports (none, with the
// reason, when there is no loader).
func listDevices(w io.Writer, asJSON bool) error {
	list, err := vulkan.List()
	if err != nil && !errors.Is(err, gpu.ErrUnavailable) {
		return err
	}
	var out []deviceJSON
	for _, d := range list {
		out = append(out, deviceJSON{API: "vulkan", Index: d.Index, Name: d.Info.Name, Type: d.Info.Type, Version: d.APIVersion,
			MemoryBytes: d.Info.MemoryBytes, SubgroupSize: d.Info.SubgroupSize, UnifiedMemory: d.Info.UnifiedMemory, Unusable: d.Unusable})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if out == nil {
			out = []deviceJSON{}
		}
		return enc.Encode(out)
	}
	if err != nil {
		_, err = fmt.Fprintf(w, "no GPU found: %v\n", err)
		return err
	}
	if len(out) == 0 {
		_, err = fmt.Fprintln(w, "no GPU found: the Vulkan loader reports no devices")
		return err
	}
	for _, d := range out {
		status := "usable with --backend vulkan"
		if d.Unusable != "" {
			status = "unusable: " + d.Unusable
		}
		if _, err := fmt.Fprintf(w, "vulkan %d: %s (%s, Vulkan %s), %.1f GiB, subgroup size %d; %s\n",
			d.Index, d.Name, d.Type, d.Version, float64(d.MemoryBytes)/(1<<30), d.SubgroupSize, status); err != nil {
			return err
		}
	}
	return nil
}
