package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/server"
	"github.com/vlmrt/vlmrt/vision"
)

func init() {
	register(command{
		name:    "serve",
		summary: "serve the model over HTTP with OpenAI's chat completions API",
		run:     runServe,
	})
}

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var mf modelFlags
	var opt server.Options
	fs := newFlagSet("serve", "--model DIR [--addr HOST:PORT] [--parallel N] [flags]", stderr)
	mf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback by default; use 0.0.0.0:PORT to serve the network)")
	fs.StringVar(&opt.ModelName, "name", "", "model id clients send as \"model\" (default: the --model value)")
	def := server.Defaults()
	fs.IntVar(&opt.Parallel, "parallel", def.Parallel, "requests decoding together (continuous batching; each slot keeps its last KV cache for prefix reuse)")
	fs.IntVar(&opt.Queue, "queue", def.Queue, "requests waiting beyond --parallel (more get 429)")
	fs.Int64Var(&opt.MaxBodyBytes, "max-body", def.MaxBodyBytes, "request body limit in bytes (413 beyond)")
	fs.IntVar(&opt.MaxImages, "max-images", def.MaxImages, "images per request")
	fs.Int64Var(&opt.MaxImagePixels, "max-image-pixels", def.MaxImagePixels, "decoded pixels per image, checked from the header (413 beyond)")
	fs.IntVar(&opt.MaxTokens, "max-tokens", def.MaxTokens, "max_tokens limit, and the default when a request gives none")
	fs.DurationVar(&opt.RequestTimeout, "timeout", def.RequestTimeout, "time limit per request, queueing included")
	fs.BoolVar(&opt.AllowRemoteImages, "allow-remote-images", false, "let image_url fetch http(s) URLs (20 MiB, 20 s each)")
	grace := fs.Duration("grace", 10*time.Second, "on SIGINT/SIGTERM, how long running requests may finish before they are cancelled")
	resize := fs.String("resize", "plain", "how images become model input: plain (fixed 448×448 grid) or native, letterbox, crop")
	var minPx, maxPx, maxImgTok int64
	registerBudgetFlags(fs, &minPx, &maxPx, &maxImgTok)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if opt.Parallel < 1 || opt.Queue < 0 || opt.MaxImages < 0 || opt.MaxTokens < 1 || opt.MaxBodyBytes < 1 || opt.RequestTimeout <= 0 {
		return usageError("--parallel, --max-tokens, --max-body and --timeout must be positive; --queue and --max-images ≥ 0")
	}
	mode, err := vision.ParseResizeMode(*resize)
	if err != nil {
		return usageError("--resize: %v", err)
	}
	budget, err := budgetFrom(minPx, maxPx, maxImgTok)
	if err != nil {
		return err
	}
	opt.Resize, opt.ImageBudget = mode, vlmrt.ImageBudget(budget)
	if opt.ModelName == "" {
		opt.ModelName = mf.model
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	m, err := mf.open(ctx, stdout, stderr)
	if err != nil {
		ln.Close()
		return err
	}
	defer m.Close()
	h, err := server.New(m, opt)
	if err != nil {
		ln.Close()
		return err
	}
	defer h.Close() // before m.Close: ends what is still decoding
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(stderr, "vlmrt serve: %s as %q on http://%s/v1 (%d parallel, %d queued)\n", mf.model, opt.ModelName, ln.Addr(), opt.Parallel, opt.Queue)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// SIGINT/SIGTERM: stop accepting, let running requests finish for a
	// grace period, then cancel them.
	fmt.Fprintln(stderr, "vlmrt serve: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	srv.Close()
	return nil
}
