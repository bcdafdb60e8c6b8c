// Command applecheck is the Go half of `make apple-check`
// (scripts/apple-check.sh runs the steps; this turns their output into one
// table and decides).
//
//	go run ./scripts/applecheck report DIR   the table for an apple-check output directory; exit 1 on any mismatch
//	go run ./scripts/applecheck model        the decode performance model of docs/apple.md (markdown)
package main

import (
	"fmt"
	"os"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/bench"
)

func shapeConfig(name string) (*config.Model, error) { return bench.Shape(name) }

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "report":
		if len(os.Args) != 3 {
			usage()
		}
		failures, err := report(os.Args[2], os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "applecheck:", err)
			os.Exit(2)
		}
		if len(failures) > 0 {
			os.Exit(1)
		}
	case "model":
		if err := writeModel(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "applecheck:", err)
			os.Exit(2)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: applecheck report DIR | applecheck model")
	os.Exit(2)
}
