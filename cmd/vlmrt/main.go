// Command vlmrt runs Qwen3-VL vision-language models on the local machine.
//
// Each subcommand lives in its own file (run.go, tokenize.go, preprocess.go, ...)
// and registers itself in the commands table below with register. main.go only
// dispatches: it holds no model logic.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one vlmrt subcommand.
type command struct {
	name    string
	summary string // one line for `vlmrt --help`
	// run parses args (everything after the subcommand name) and does the work.
	// stdout/stderr are passed explicitly so tests can drive commands in-process.
	run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// register adds a subcommand; called from init functions of the command files.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("vlmrt: command registered twice: " + c.name) // programming error, caught by any test
	}
	commands[c.name] = c
}

// errUsage marks an error caused by bad command-line input (exit code 2).
var errUsage = errors.New("usage")

// usageError formats a command-line error that exits with status 2.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs vlmrt with args and returns the process exit code. Errors are
// printed as one line on stderr.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vlmrt: unknown command %q (run 'vlmrt --help' for the list)\n", args[0])
		return 2
	}
	err := c.run(ctx, args[1:], stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "vlmrt %s: %s\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return 2
	default:
		fmt.Fprintf(stderr, "vlmrt %s: %s\n", c.name, oneLine(err.Error()))
		return 1
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "vlmrt runs Qwen3-VL vision-language models locally.")
	fmt.Fprintln(w, "\nUsage: vlmrt <command> [flags]   (vlmrt <command> --help for its flags)\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
}

// newFlagSet returns a FlagSet that reports errors instead of exiting. The
// flag package writes usage text on --help and on errors alike; it goes to a
// held buffer that parseFlags shows for --help only, so a bad flag is one line.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vlmrt "+name, flag.ContinueOnError)
	out := &heldOutput{stderr: stderr}
	fs.SetOutput(out)
	fs.Usage = func() {
		out.buf.Reset() // drop the flag package's own error line
		fmt.Fprintf(out, "Usage: vlmrt %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// heldOutput keeps a flag set's output until parseFlags decides to show it.
type heldOutput struct {
	buf    bytes.Buffer
	stderr io.Writer
}

func (h *heldOutput) Write(p []byte) (int, error) { return h.buf.Write(p) }

// parseFlags parses args into fs; a parse failure becomes a one-line usage
// error that points at --help.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(intersperse(fs, args))
	out, _ := fs.Output().(*heldOutput)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if out != nil {
			out.stderr.Write(out.buf.Bytes())
		}
		return err
	}
	return usageError("%v (see %s --help)", err, fs.Name())
}

// intersperse reorders args so that flags may come after positional
// arguments (`vlmrt inspect DIR --json`): flags (with their values) first,
// then "--" and the positional arguments in order. A token after "--" is
// always positional, and so is one that reads as a negative number ("-1",
// "-1,2"), so `tokenize --decode -1` reaches the command as an id.
func intersperse(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) < 2 || a[0] != '-' || negativeNumber(a):
			pos = append(pos, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue // flag.Parse reports it
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}

// negativeNumber reports whether a looks like "-1" or "-1,2".
func negativeNumber(a string) bool {
	return len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9'
}
