// Package servebench measures the server as its users see it: the server
// runs in process on a real listener, N clients stream chat completions at
// once, and each chunk's arrival is timed. `vlmrt bench --serve-clients`
// and the server package's BenchmarkServe share it.
package servebench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/bench"
	"github.com/vlmrt/vlmrt/internal/bridge"
	"github.com/vlmrt/vlmrt/server"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// Row is one round: Clients streaming at once.
type Row struct {
	Clients int `json:"clients"`
	// AggregateTokS is the decode rate of all clients together while all
	// of them decode (from the last first token to the first last token),
	// the rate continuous batching raises; Ratio is it over the first
	// row's (one client). Streams too short to overlap fall back to
	// WallTokS.
	AggregateTokS float64 `json:"aggregate_tok_s"`
	Ratio         float64 `json:"ratio"`
	// PerClientTokS is the mean of each client's decode rate (first to
	// last token, other clients' prefills included).
	PerClientTokS float64 `json:"per_client_tok_s"`
	// TTFT is time to first token, mean and worst over the clients
	// (later clients wait for the earlier ones' prefills).
	TTFTMean, TTFTMax time.Duration `json:"-"`
	TTFTMeanMs        float64       `json:"ttft_mean_ms"`
	TTFTMaxMs         float64       `json:"ttft_max_ms"`
	// WallTokS is every completion token over the round's wall time.
	WallTokS float64 `json:"wall_tok_s"`
	// Tokens is the completion tokens of the round (usage).
	Tokens int `json:"tokens"`
}

// Run serves m on a loopback port with as many slots as the largest
// client count and runs one round per entry of clients, each client
// asking for tokens tokens of a distinct prompt.
func Run(ctx context.Context, m *vlmrt.Model, clients []int, tokens int, progress func(string)) ([]Row, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if len(clients) == 0 || slices.Min(clients) < 1 || tokens < 2 {
		return nil, fmt.Errorf("servebench: want client counts ≥ 1 and at least 2 tokens")
	}
	h, err := server.New(m, server.Options{ModelName: "bench", Parallel: slices.Max(clients), MaxTokens: tokens})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v1/chat/completions"
	// An untimed round first: the first requests of a process pay for
	// what later ones do not (the garbage of building the weights being
	// collected, first-touch page faults, the slots' KV caches being
	// allocated), which made the one-client round — the baseline of every
	// ratio — slow.
	progress("warm-up round (untimed)")
	if _, err := Round(ctx, url, len(clients), slices.Max(clients), min(tokens, 4)); err != nil {
		return nil, err
	}
	var rows []Row
	for round, n := range clients {
		progress(fmt.Sprintf("%d streaming client(s), %d tokens each", n, tokens))
		row, err := Round(ctx, url, round, n, tokens)
		if err != nil {
			return rows, err
		}
		if len(rows) > 0 && rows[0].AggregateTokS > 0 {
			row.Ratio = row.AggregateTokS / rows[0].AggregateTokS
		} else {
			row.Ratio = 1
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// trace is one client's stream: when it asked, when each content chunk
// arrived, and the completion tokens its usage reported.
type trace struct {
	start  time.Time
	chunks []time.Time
	tokens int
}

// Round runs n clients at once against url, each streaming tokens tokens
// of its own prompt (round makes the prompts differ between rounds, so no
// round reuses another's cache beyond the chat template).
func Round(ctx context.Context, url string, round, n, tokens int) (Row, error) {
	traces := make([]trace, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	began := time.Now()
	for i := range n {
		wg.Go(func() {
			prompt := fmt.Sprintf("Round %d, client %d: tell a long story about the number %d.", round, i, 7919*(round+1)+i)
			traces[i], errs[i] = stream(ctx, url, prompt, tokens)
		})
	}
	wg.Wait()
	wall := time.Since(began)
	if err := errors.Join(errs...); err != nil {
		return Row{}, err
	}
	row := Row{Clients: n}
	var firstMax, lastMin time.Time
	for i, tr := range traces {
		first, last := tr.chunks[0], tr.chunks[len(tr.chunks)-1]
		ttft := first.Sub(tr.start)
		row.TTFTMean += ttft / time.Duration(n)
		row.TTFTMax = max(row.TTFTMax, ttft)
		if d := last.Sub(first); d > 0 {
			row.PerClientTokS += float64(tr.tokens-1) / d.Seconds() / float64(n)
		}
		if i == 0 || first.After(firstMax) {
			firstMax = first
		}
		if i == 0 || last.Before(lastMin) {
			lastMin = last
		}
		row.Tokens += tr.tokens
	}
	// Tokens decoded while every client decodes: chunks arriving in the
	// window, scaled by each client's tokens per chunk (a token that
	// completes no character sends no chunk).
	if window := lastMin.Sub(firstMax); window > 0 {
		var decoded float64
		for _, tr := range traces {
			in := 0
			for _, at := range tr.chunks {
				if at.After(firstMax) && !at.After(lastMin) {
					in++
				}
			}
			decoded += float64(in) * float64(tr.tokens) / float64(len(tr.chunks))
		}
		row.AggregateTokS = decoded / window.Seconds()
	}
	row.WallTokS = float64(row.Tokens) / wall.Seconds()
	if row.AggregateTokS == 0 { // no time when all decoded (streams too short to overlap)
		row.AggregateTokS = row.WallTokS
	}
	row.TTFTMeanMs, row.TTFTMaxMs = float64(row.TTFTMean.Microseconds())/1e3, float64(row.TTFTMax.Microseconds())/1e3
	return row, nil
}

// stream asks for one streaming completion and times its chunks.
func stream(ctx context.Context, url, prompt string, tokens int) (trace, error) {
	body, _ := json.Marshal(map[string]any{
		"model": "bench", "max_tokens": tokens, "stream": true, "stream_options": map[string]bool{"include_usage": true},
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return trace{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	tr := trace{start: time.Now()}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tr, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return tr, fmt.Errorf("servebench: HTTP %d: %s", resp.StatusCode, msg)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return tr, fmt.Errorf("servebench: chunk %q: %w", data, err)
		}
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			tr.chunks = append(tr.chunks, time.Now())
		}
		if chunk.Usage != nil {
			tr.tokens = chunk.Usage.CompletionTokens
		}
	}
	if err := sc.Err(); err != nil {
		return tr, err
	}
	if len(tr.chunks) == 0 || tr.tokens == 0 {
		return tr, fmt.Errorf("servebench: the stream carried no text or no usage")
	}
	return tr, nil
}

// WriteTable prints rows as the README's table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "clients\taggregate decode tok/s\t× 1 client\tper-client tok/s\tTTFT mean\tTTFT max\twall tok/s")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f×\t%.2f\t%v\t%v\t%.2f\n", r.Clients, r.AggregateTokS, r.Ratio, r.PerClientTokS,
			r.TTFTMean.Round(time.Millisecond), r.TTFTMax.Round(time.Millisecond), r.WallTokS)
	}
	return tw.Flush()
}

// ShapeModel builds a synthetic model shape (bench.Shape: "2b", "4b",
// "8b") with seeded random weights, no vision tower and no end-of-turn
// token (every client gets all its tokens), with the tokenizer in
// tokenizerDir for the chat template. close releases it.
func ShapeModel(ctx context.Context, shape string, seed uint64, threads int, tokenizerDir string, progress func(string)) (m *vlmrt.Model, close func(), err error) {
	tok, err := tokenizer.Load(tokenizerDir)
	if err != nil {
		return nil, nil, fmt.Errorf("servebench: the chat template needs a Qwen3-VL tokenizer (--tokenizer DIR; the repository has testdata/tokenizer): %w", err)
	}
	e, closeFn, err := bench.Engine(ctx, bench.Options{Shape: shape, Seed: seed, Threads: threads}, progress)
	if err != nil {
		return nil, nil, err
	}
	e.Tokenizer = tok
	m = bridge.Model(e, shape).(*vlmrt.Model)
	return m, func() { m.Close(); closeFn() }, nil
}
