package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/vlmrt/vlmrt/vision"
	"io"
	"os"
	"strings"

	"github.com/vlmrt/vlmrt"
	"golang.org/x/term"
)

func init() {
	register(command{
		name:    "chat",
		summary: "interactive conversation (/image PATH, /system TEXT, /clear, /stats, /quit); works with piped stdin",
		run:     runChat,
	})
}

const chatHelp = `Commands:
  /image PATH [--resize MODE] [--min-pixels N] [--max-pixels N] [--max-image-tokens N]
                 attach an image to your next message (repeatable); the
                 flags override the chat's for this image
  /system TEXT   set the system prompt (starts a new conversation)
  /clear         start a new conversation
  /stats         statistics of the last answer
  /quit          leave (also Ctrl-D)
  """            start or end a multi-line message
`

func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var mf modelFlags
	var gf genFlags
	fs := newFlagSet("chat", "--model DIR [flags]", stderr)
	mf.register(fs)
	gf.register(fs)
	system := fs.String("system", "", "system prompt")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	gen, resize, err := gf.options()
	if err != nil {
		return err
	}
	m, err := mf.open(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	interactive := isTerminal(stdin)
	budget, err := gf.imageBudget()
	if err != nil {
		return err
	}
	chat := m.NewChat(vlmrt.WithSystem(*system), vlmrt.WithGenerate(gen), vlmrt.WithResize(resize), vlmrt.WithImageBudget(budget))
	if interactive {
		fmt.Fprintf(stdout, "vlmrt chat — %s. Type /help for commands.\n", m.Info().Source)
	}
	in := bufio.NewReader(stdin)
	var images []vlmrt.Part
	for {
		if interactive {
			fmt.Fprint(stdout, ">>> ")
		}
		text, err := readMessage(in, interactive, stdout)
		if errors.Is(err, io.EOF) && text == "" {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		switch cmd, arg, _ := strings.Cut(strings.TrimSpace(text), " "); {
		case text == "":
			continue
		case cmd == "/quit" || cmd == "/exit" || cmd == "/bye":
			return nil
		case cmd == "/help" || cmd == "/?":
			fmt.Fprint(stdout, chatHelp)
		case cmd == "/image":
			part, path, err := parseImageCommand(arg, gf)
			if err != nil {
				fmt.Fprintf(stderr, "%v\n", err)
				continue
			}
			images = append(images, part)
			fmt.Fprintf(stdout, "[image %s attached to the next message]\n", path)
		case cmd == "/system":
			chat.SetSystem(strings.TrimSpace(arg))
			images = nil
			fmt.Fprintln(stdout, "[system prompt set; new conversation]")
		case cmd == "/clear":
			chat.Reset()
			images = nil
			fmt.Fprintln(stdout, "[new conversation]")
		case cmd == "/stats":
			fmt.Fprintln(stdout, formatStats(chat.Stats(), m.Info().Device))
		case strings.HasPrefix(cmd, "/") && !strings.Contains(cmd[1:], "/"):
			fmt.Fprintf(stderr, "unknown command %s (try /help)\n", cmd)
		default:
			parts := append(images, vlmrt.Text(text))
			images = nil
			for tok, err := range chat.Send(ctx, vlmrt.User(parts...)) {
				if err != nil {
					fmt.Fprintln(stdout)
					if errors.Is(err, vlmrt.ErrCancelled) {
						return err
					}
					// A bad image or an overflowing turn: report it and go on;
					// the conversation is unchanged.
					fmt.Fprintf(stderr, "error: %s\n", oneLine(err.Error()))
					break
				}
				fmt.Fprint(stdout, tok.Text)
			}
			fmt.Fprintln(stdout)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// readMessage reads one line, or the lines between two """ markers.
func readMessage(in *bufio.Reader, interactive bool, stdout io.Writer) (string, error) {
	line, err := in.ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) != `"""` && !strings.HasPrefix(line, `"""`) {
		return line, err
	}
	var b strings.Builder
	first := strings.TrimPrefix(line, `"""`)
	if rest, ok := strings.CutSuffix(first, `"""`); ok && first != "" {
		return rest, err
	}
	b.WriteString(first)
	for err == nil {
		if interactive {
			fmt.Fprint(stdout, "... ")
		}
		line, err = in.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if before, ok := strings.CutSuffix(line, `"""`); ok {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(before)
			return strings.TrimPrefix(b.String(), "\n"), nil
		}
		if b.Len() > 0 || first != "" {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String(), err
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// formatStats is the --stats line; it ends with what ran the model
// (Info.Device: the CPU kernel path or the GPU).
func formatStats(s vlmrt.Stats, device string) string {
	j := statsJSON(s)
	return fmt.Sprintf("vision %.0f ms | prompt %d tok, prefill %d tok in %.0f ms (%.1f tok/s) | first token %.0f ms | decode %d tok at %.2f tok/s | total %.0f ms | %s | %s",
		j.VisionEncodeMS, j.PromptTokens, j.PrefillTokens, j.PrefillMS, j.PrefillTokS, j.TTFTMS, j.GeneratedTokens, j.DecodeTokS, j.TotalMS, j.FinishReason, device)
}

// parseImageCommand reads "/image PATH [flags]": the path runs up to the
// first " --" (so a path may hold spaces), the flags are run's image flags
// and default to the chat's own.
func parseImageCommand(arg string, chatFlags genFlags) (vlmrt.Part, string, error) {
	path, flags, _ := strings.Cut(" "+strings.TrimSpace(arg), " --")
	path = strings.TrimSpace(path)
	if path == "" {
		return vlmrt.Part{}, "", fmt.Errorf("usage: /image PATH [--resize MODE] [--min-pixels N] [--max-pixels N] [--max-image-tokens N]")
	}
	if _, err := os.Stat(path); err != nil {
		return vlmrt.Part{}, "", fmt.Errorf("cannot attach image: %v", err)
	}
	g := chatFlags
	fs := flag.NewFlagSet("/image", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.resize, "resize", g.resize, "")
	fs.Int64Var(&g.minPixels, "min-pixels", g.minPixels, "")
	fs.Int64Var(&g.maxPixels, "max-pixels", g.maxPixels, "")
	fs.Int64Var(&g.maxImageTokens, "max-image-tokens", g.maxImageTokens, "")
	if flags != "" {
		if err := fs.Parse(strings.Fields("--" + flags)); err != nil {
			return vlmrt.Part{}, "", fmt.Errorf("/image: %v", err)
		}
		if fs.NArg() > 0 {
			return vlmrt.Part{}, "", fmt.Errorf("/image: unexpected %q after the flags", strings.Join(fs.Args(), " "))
		}
	}
	mode, err := vision.ParseResizeMode(g.resize)
	if err != nil {
		return vlmrt.Part{}, "", fmt.Errorf("/image --resize: %v", err)
	}
	budget, err := g.imageBudget()
	if err != nil {
		return vlmrt.Part{}, "", fmt.Errorf("/image: %v", err)
	}
	return vlmrt.ImageFile(path).Fit(mode, budget), path, nil
}
