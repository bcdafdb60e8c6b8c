package vlmrt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/vlmrt/vlmrt/internal/engine"
)

// Batch answers one-shot requests on a model with continuous batching, as
// a server needs: up to its slots' count of requests decode together,
// each step of the engine advancing all of them by one token in one pass
// over the weights (on a backend that can; others step them in turn), and
// requests join and leave between steps. A new request's prefill runs on
// its own between two steps.
//
// Each slot keeps its conversation (the KV cache) when its request ends.
// A later request whose prompt extends it — the same token ids, and the
// same images (by a digest of their patches) in the same places — is
// placed on that slot and prefills only its new tokens; Usage.CachedTokens
// says how many it reused. The answer is the one Model.GenerateFunc gives.
//
// One goroutine runs the batch, from NewBatch until Close. GenerateFunc
// may be called from any number of goroutines; requests beyond the slots
// wait for one in order of arrival.
type Batch struct {
	m      *Model
	slots  []*batchSlot
	submit chan *batchJob
	stop   context.CancelFunc
	done   chan struct{} // closed when the scheduler has stopped
	once   sync.Once
	uses   int64 // counts slot uses: the least recently used empty slot is taken first
}

// NewBatch starts a batch of slots conversations on m (at least one).
// Close it before closing m.
func (m *Model) NewBatch(slots int) *Batch {
	ctx, stop := context.WithCancel(context.Background())
	b := &Batch{m: m, submit: make(chan *batchJob), stop: stop, done: make(chan struct{})}
	for range max(slots, 1) {
		b.slots = append(b.slots, &batchSlot{})
	}
	go b.run(ctx)
	return b
}

// Close stops the batch: requests still running or waiting fail with
// ErrClosed or ErrCancelled (within one step), and the slots' caches are
// released. It returns once the batch's goroutine has stopped.
func (b *Batch) Close() error {
	b.once.Do(b.stop)
	<-b.done
	return nil
}

// GenerateFunc is Model.GenerateFunc run in the batch: fn receives each
// token on the caller's goroutine (so a slow consumer does not hold the
// others back); an error from fn or a cancelled ctx ends the request
// within one decode step, and its slot serves the next one.
func (b *Batch) GenerateFunc(ctx context.Context, req Request, fn func(Token) error) (*Response, error) {
	j, err := b.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j.ctx = ctx
	select {
	case b.submit <- j:
	case <-b.done:
		return nil, fmt.Errorf("%w: the batch is closed", ErrClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrCancelled, ctx.Err())
	}
	// The scheduler always ends a job it took (cancelled within one step),
	// so waiting for the end also means its slot is free again.
	resp := &Response{}
	var text strings.Builder
	var cbErr error
	for {
		<-j.wake
		toks, ended := j.take()
		for _, t := range toks {
			// Tokens the scheduler made before it saw a cancellation are
			// not delivered after it: no callback follows a cancel.
			if cbErr != nil || ctx.Err() != nil {
				break
			}
			resp.Tokens = append(resp.Tokens, t.ID)
			text.WriteString(t.Text)
			if cbErr = fn(b.m.publicToken(t)); cbErr != nil {
				cancel()
			}
		}
		if ended {
			break
		}
	}
	st := Stats(j.stats)
	resp.Text, resp.Stats, resp.FinishReason = text.String(), st, st.FinishReason
	if cbErr != nil {
		return resp, cbErr
	}
	if j.err != nil {
		return resp, j.err
	}
	return resp, nil
}

// prepare renders the request's prompt and prepares its images on the
// caller's goroutine: the scheduler only encodes the images a slot does
// not already hold, prefills and decodes.
func (b *Batch) prepare(ctx context.Context, req Request) (*batchJob, error) {
	if len(req.Messages) == 0 {
		return nil, fmt.Errorf("%w: request has no messages", ErrUnsupportedInput)
	}
	if last := req.Messages[len(req.Messages)-1]; last.Role != "" && last.Role != "user" {
		return nil, fmt.Errorf("%w: the last message of a turn must be from the user, got role %q", ErrUnsupportedInput, last.Role)
	}
	opt := req.GenerateOptions.engineOptions()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if err := b.m.acquire(); err != nil {
		return nil, err
	}
	defer b.m.mu.RUnlock()
	o := chatOptions{system: req.System, resize: req.Resize, budget: req.ImageBudget}
	ids, prepared, err := b.m.render(ctx, &o, req.Messages, true)
	if err != nil {
		return nil, err
	}
	j := &batchJob{ids: ids, opt: opt, wake: make(chan struct{}, 1)}
	pad, at := b.m.engine.Config.ImageTokenID, 0
	for _, p := range prepared {
		for at < len(ids) && ids[at] != pad {
			at++
		}
		n := p.grid.Tokens()
		if at+n > len(ids) {
			return nil, fmt.Errorf("vlmrt: the prompt holds fewer image pads than its images need")
		}
		j.images = append(j.images, batchImage{key: imageKey{at: at, tokens: n, digest: digest(p)}, prep: p})
		at += n
	}
	return j, nil
}

// digest identifies an image's model input: its patch grid and values.
// Two images give identical pad ids, so the prefix key needs it.
func digest(p preparedImage) [32]byte {
	h := sha256.New()
	var buf [4096]byte
	binary.LittleEndian.PutUint32(buf[0:], uint32(p.grid.Rows))
	binary.LittleEndian.PutUint32(buf[4:], uint32(p.grid.Cols))
	h.Write(buf[:8])
	for i := 0; i < len(p.patches); {
		n := 0
		for ; i < len(p.patches) && n < len(buf); i, n = i+1, n+4 {
			binary.LittleEndian.PutUint32(buf[n:], math.Float32bits(p.patches[i]))
		}
		h.Write(buf[:n])
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// imageKey is an image in its place in a prompt.
type imageKey struct {
	at, tokens int
	digest     [32]byte
}

type batchImage struct {
	key  imageKey
	prep preparedImage
}

// batchJob is one request from submission to its end. The scheduler
// delivers tokens and the end; the caller's goroutine takes them.
type batchJob struct {
	ctx    context.Context
	ids    []int32
	images []batchImage
	opt    engine.Options

	mu    sync.Mutex
	toks  []engine.Token
	ended bool
	stats engine.Stats
	err   error
	wake  chan struct{} // holds a value when something was delivered
}

func (j *batchJob) push(t engine.Token) {
	j.mu.Lock()
	j.toks = append(j.toks, t)
	j.mu.Unlock()
	j.signal()
}

func (j *batchJob) end(st engine.Stats, err error) {
	j.mu.Lock()
	j.ended, j.stats, j.err = true, st, err
	j.mu.Unlock()
	j.signal()
}

func (j *batchJob) signal() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

func (j *batchJob) take() (toks []engine.Token, ended bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	toks, j.toks = j.toks, nil
	return toks, j.ended
}

// batchSlot is one conversation of the batch: a session that outlives its
// requests, so the next one can reuse its cache.
type batchSlot struct {
	s      *engine.Session // nil until first used
	images []imageKey      // the images s holds, in order
	used   int64
	job    *batchJob // the running request, nil when free
	turn   *engine.Turn
}

// reusable is how many of j's first tokens the slot's conversation
// already holds: the common prefix of token ids, cut before any image
// that is not the same image in the same place on both sides, and short
// of the whole prompt (its last token must run to predict the reply).
func (sl *batchSlot) reusable(j *batchJob) int {
	if sl.s == nil {
		return 0
	}
	hist := sl.s.History()
	n := 0
	for n < len(hist) && n < len(j.ids)-1 && hist[n] == j.ids[n] {
		n++
	}
	mine := make([]imageKey, len(j.images))
	for i, im := range j.images {
		mine[i] = im.key
	}
	for _, side := range [2][][]imageKey{{sl.images, mine}, {mine, sl.images}} {
		for _, im := range side[0] {
			if im.at < n && (im.at+im.tokens > n || !slices.Contains(side[1], im)) {
				n = im.at
			}
		}
	}
	return n
}

// run is the scheduler: it admits waiting requests into free slots, then
// advances every running turn by one token in one Batcher step, until ctx
// ends.
func (b *Batch) run(ctx context.Context) {
	defer close(b.done)
	var waiting []*batchJob
	var batcher *engine.Batcher
	for {
		if len(waiting) == 0 && !b.busy() {
			select {
			case j := <-b.submit:
				waiting = append(waiting, j)
			case <-ctx.Done():
			}
		}
	arrived:
		for {
			select {
			case j := <-b.submit:
				waiting = append(waiting, j)
			default:
				break arrived
			}
		}
		if ctx.Err() != nil {
			b.shutdown(waiting)
			return
		}
		// The model's read lock is held per round, never across the wait
		// above, so Model.Close is not kept waiting by an idle batch.
		if err := b.m.acquire(); err != nil {
			for _, sl := range b.slots {
				if sl.job != nil {
					b.finish(sl, err)
				}
			}
			for _, j := range waiting {
				j.end(engine.Stats{}, err)
			}
			waiting = nil
			continue
		}
		if batcher == nil {
			batcher = b.m.engine.NewBatcher()
		}
		waiting = b.admit(waiting)
		b.step(ctx, batcher)
		b.m.mu.RUnlock()
	}
}

func (b *Batch) busy() bool {
	for _, sl := range b.slots {
		if sl.job != nil {
			return true
		}
	}
	return false
}

// admit starts waiting requests, in order, while slots are free; it
// returns those still waiting.
func (b *Batch) admit(waiting []*batchJob) []*batchJob {
	for len(waiting) > 0 {
		j := waiting[0]
		if err := j.ctx.Err(); err != nil {
			j.end(engine.Stats{}, fmt.Errorf("%w: %w", ErrCancelled, err))
			waiting = waiting[1:]
			continue
		}
		var best *batchSlot
		bestN := -1
		for _, sl := range b.slots {
			if sl.job != nil {
				continue
			}
			if n := sl.reusable(j); n > bestN || n == bestN && sl.used < best.used {
				best, bestN = sl, n
			}
		}
		if best == nil {
			break
		}
		waiting = waiting[1:]
		b.start(best, j, bestN)
	}
	return waiting
}

// start runs j's prefill on sl, keeping its first n tokens, and emits the
// first token.
func (b *Batch) start(sl *batchSlot, j *batchJob, n int) {
	e := b.m.engine
	b.uses++
	sl.used = b.uses
	if sl.s == nil {
		sl.s = e.NewSession()
	}
	if err := sl.s.Truncate(n); err != nil {
		// A backend that cannot roll back: start the slot afresh.
		sl.s.Close()
		n = 0
	}
	kept := sl.images[:0]
	for _, im := range sl.images {
		if im.at+im.tokens <= n {
			kept = append(kept, im)
		}
	}
	sl.images = kept
	added := 0
	for _, im := range j.images {
		if im.key.at >= n {
			added++
		}
	}
	// Overflow and the backend's image limit fail before the vision work.
	if err := sl.s.CheckFits(len(j.ids)-n, added); err != nil {
		j.end(engine.Stats{}, err)
		return
	}
	var images []*engine.Image
	for i, im := range j.images {
		if im.key.at < n {
			continue
		}
		enc, err := e.EncodeGrid(j.ctx, im.prep.patches, im.prep.grid.Rows, im.prep.grid.Cols)
		if err != nil {
			releaseImages(images)
			j.end(engine.Stats{}, fmt.Errorf("image %d: %w", i+1, err))
			return
		}
		images = append(images, enc)
	}
	t, err := sl.s.Start(j.ctx, engine.Input{IDs: j.ids[n:], Images: images}, j.opt)
	// Start copied the images into the conversation (or failed).
	releaseImages(images)
	if err != nil { // the session is back at the kept prefix
		j.end(t.Stats(), err)
		return
	}
	sl.images = sl.images[:0]
	for _, im := range j.images {
		sl.images = append(sl.images, im.key)
	}
	sl.job, sl.turn = j, t
	b.emit(sl)
}

// step advances every running turn by one token (turns whose request was
// cancelled are not stepped: their Emit reports the cancellation) and
// delivers the tokens.
func (b *Batch) step(ctx context.Context, batcher *engine.Batcher) {
	var turns []*engine.Turn
	for _, sl := range b.slots {
		if sl.job != nil && sl.job.ctx.Err() == nil {
			turns = append(turns, sl.turn)
		}
	}
	if len(turns) > 0 {
		batcher.Step(ctx, turns)
	}
	for _, sl := range b.slots {
		if sl.job != nil {
			b.emit(sl)
		}
	}
}

// emit delivers the slot's chosen token (or the error its step met) and
// frees the slot when the turn has ended.
func (b *Batch) emit(sl *batchSlot) {
	tok, err := sl.turn.Emit(sl.job.ctx)
	if err != nil {
		b.finish(sl, err)
		return
	}
	sl.job.push(tok)
	if tok.End {
		b.finish(sl, nil)
	}
}

func (b *Batch) finish(sl *batchSlot, err error) {
	sl.job.end(sl.turn.Stats(), err)
	sl.job, sl.turn = nil, nil
}

// shutdown ends every request and releases the slots' caches.
func (b *Batch) shutdown(waiting []*batchJob) {
	closed := fmt.Errorf("%w: the batch is closed", ErrClosed)
	for _, j := range waiting {
		j.end(engine.Stats{}, closed)
	}
	open := b.m.acquire() == nil
	for _, sl := range b.slots {
		if sl.job != nil {
			sl.turn.Cancel()
			b.finish(sl, closed)
		}
		if sl.s != nil && open {
			sl.s.Close()
		}
	}
	if open {
		b.m.mu.RUnlock()
	}
}
