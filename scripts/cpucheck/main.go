// Command cpucheck is the Go half of `make cpu-check` (scripts/cpu-check.sh
// runs the steps; this turns their output into one table and decides
// against issue 14's targets).
//
//	go run ./scripts/cpucheck report DIR   the table for a cpu-check output directory; exit 1 on a failure or a missed target
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "report" {
		fmt.Fprintln(os.Stderr, "usage: cpucheck report DIR")
		os.Exit(2)
	}
	failures, err := report(os.Args[2], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpucheck:", err)
		os.Exit(2)
	}
	if len(failures) > 0 {
		os.Exit(1)
	}
}
