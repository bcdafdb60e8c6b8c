package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/vlmrt/vlmrt/hub"
)

func init() {
	register(command{
		name:    "pull",
		summary: "download a model from the Hugging Face Hub into the local cache",
		run:     runPull,
	})
}

func runPull(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("pull", "ORG/NAME [--revision REV] [--include GLOB ...] [--offline]", stderr)
	revision := fs.String("revision", "", "branch, tag or commit hash to download (default main)")
	var include stringList
	fs.Var(&include, "include", "download only files matching this glob; repeatable ('*' also matches '/', as in hf download --include)")
	offline := fs.Bool("offline", false, "use only the local cache, never the network (same as HF_HUB_OFFLINE=1)")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return usageError("expected one model name such as Qwen/Qwen3-VL-4B-Instruct, got %d arguments", len(names))
	}

	opt := hub.OptionsFromEnv()
	opt.Revision = *revision
	opt.Include = include
	opt.Offline = opt.Offline || *offline
	bar := newProgressBar(stderr)
	if bar != nil {
		opt.Progress = bar.update
	}
	// Say when a download picks up what an interrupted one left behind.
	opt.Notice = func(msg string) {
		if bar != nil {
			bar.clear()
		}
		fmt.Fprintln(stderr, "vlmrt pull: "+msg)
	}
	dir, err := hub.Download(ctx, names[0], opt)
	if bar != nil {
		// Erase the bar before anything else is printed on the terminal.
		bar.clear()
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, dir)
	return nil
}

// parseInterleaved lets flags follow the model name ("pull ORG/NAME
// --include X"), which the flag package alone stops parsing at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// progressBar draws one status line on a terminal, redrawn in place.
type progressBar struct {
	w         io.Writer
	width     func() int
	last      time.Time
	file      string
	fileStart time.Time
	startDone int64
}

// newProgressBar returns nil unless w is a terminal: piped or captured
// output gets no control characters.
func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressBar{w: w, width: func() int {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			return cols
		}
		return 80
	}}
}

func (b *progressBar) update(p hub.Progress) {
	now := time.Now()
	if p.File != b.file {
		b.file, b.fileStart, b.startDone = p.File, now, p.Done
	}
	complete := p.Total >= 0 && p.Done >= p.Total
	if !complete && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	fmt.Fprint(b.w, "\r\x1b[K"+progressLine(p, now.Sub(b.fileStart), p.Done-b.startDone, b.width()))
}

func (b *progressBar) clear() { fmt.Fprint(b.w, "\r\x1b[K") }

// progressLine renders "[i/n] name  42% [=====     ] 1.2 GB/2.9 GB 85 MB/s"
// fitted to cols characters.
func progressLine(p hub.Progress, elapsed time.Duration, received int64, cols int) string {
	stats := humanBytes(p.Done)
	pct := ""
	if p.Total > 0 {
		stats += "/" + humanBytes(p.Total)
		pct = fmt.Sprintf("%3d%% ", p.Done*100/p.Total)
	}
	if elapsed > 500*time.Millisecond && received > 0 {
		stats += " " + humanBytes(int64(float64(received)/elapsed.Seconds())) + "/s"
	}
	head := fmt.Sprintf("[%d/%d] ", p.Index, p.Count)
	name := p.File
	barWidth := 20
	// Columns left for the name: one spare column so the cursor never wraps,
	// one for the space after the name.
	room := cols - 2 - len(head) - len(pct) - (barWidth + 3) - len(stats)
	if room < 12 {
		barWidth, room = 0, cols-2-len(head)-len(pct)-len(stats)
	}
	if room < 4 {
		room = 4
	}
	if len(name) > room {
		name = "…" + name[len(name)-room+1:]
	}
	bar := ""
	if barWidth > 0 && p.Total > 0 {
		filled := int(int64(barWidth) * p.Done / p.Total)
		bar = "[" + strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled) + "] "
	}
	return head + name + " " + pct + bar + stats
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f PB", f/unit)
}
