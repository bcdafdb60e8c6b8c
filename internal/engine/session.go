package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vlmrt/vlmrt/mrope"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// Token is one generated token as it streams out.
type Token struct {
	ID int32
	// Text is the newly completed text (UTF-8 safe: a character split across
	// tokens arrives whole with the token that completes it). Stop strings
	// and end-of-turn tokens contribute no text.
	Text string
	// End marks the token that ended the turn (end-of-turn id, stop string,
	// max tokens or context limit). The final Token may carry text too.
	End bool
	// On the End token: why the turn ended (Stats.FinishReason), the
	// conversation's tokens before the reply, how many of them were
	// already in the cache (not prefilled by this turn) and the reply's
	// tokens.
	FinishReason                                 string
	PromptTokens, CachedTokens, CompletionTokens int
	// With Options.Logprobs: the token's log-probability and the
	// Options.TopLogprobs most likely tokens at its step, most likely
	// first (non-nil, maybe empty, exactly with Logprobs). Both come from the log-softmax (in float64) of the step's raw
	// logits, before the repetition penalty, temperature and the top-k/p
	// and min-p cuts: the model's distribution.
	Logprob float64
	Top     []TokenLogprob
}

// TokenLogprob is one candidate token of a step and its log-probability.
type TokenLogprob struct {
	ID      int32
	Logprob float64
}

// MaxTopLogprobs bounds Options.TopLogprobs (OpenAI's limit).
const MaxTopLogprobs = 20

// Input is what a turn appends to the conversation: token ids in which each
// image occupies Images[i].Tokens() consecutive pad ids (tokenizer's
// <|image_pad|>), in order.
type Input struct {
	IDs    []int32
	Images []*Image
}

// Options controls one generation.
type Options struct {
	Sampling
	// MaxTokens caps generated tokens (0 = until end of turn or context).
	MaxTokens int
	// Stop strings end generation; they are not emitted.
	Stop []string
	// PrefillChunk is how many prompt tokens one batched prefill pass runs
	// (0 = DefaultPrefillChunk). S1Prefill runs one token per pass, the path decode takes.
	PrefillChunk int
	S1Prefill    bool
	// Logprobs reports each generated token's log-probability (Token.Logprob)
	// and, with TopLogprobs (0..MaxTopLogprobs), that many most likely
	// tokens of each step (Token.Top). The turn then chooses tokens on the
	// host (a TokenPicker's device sampling returns no logits).
	Logprobs    bool
	TopLogprobs int
}

// Validate checks the options.
func (o Options) Validate() error {
	if err := o.Sampling.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedInput, err)
	}
	if o.MaxTokens < 0 {
		return fmt.Errorf("%w: max tokens %d must be ≥ 0", ErrUnsupportedInput, o.MaxTokens)
	}
	if o.TopLogprobs < 0 || o.TopLogprobs > MaxTopLogprobs {
		return fmt.Errorf("%w: top logprobs %d must be within 0..%d", ErrUnsupportedInput, o.TopLogprobs, MaxTopLogprobs)
	}
	if o.TopLogprobs > 0 && !o.Logprobs {
		return fmt.Errorf("%w: top logprobs need logprobs", ErrUnsupportedInput)
	}
	if o.PrefillChunk < 0 {
		return fmt.Errorf("%w: prefill chunk %d must be ≥ 0", ErrUnsupportedInput, o.PrefillChunk)
	}
	return nil
}

// Stats describe one turn, with the quantities the seed card reports.
type Stats struct {
	Images           int
	VisionEncode     time.Duration // sum over this turn's images
	PromptTokens     int           // tokens in the conversation after this turn's input
	PrefillTokens    int           // tokens actually run this turn (new tokens only)
	Prefill          time.Duration
	TimeToFirstToken time.Duration // from the start of prefill
	GeneratedTokens  int
	Decode           time.Duration // from first to last generated token
	Total            time.Duration
	FinishReason     string // "eos", "stop", "length", "context", "cancelled"
}

// PrefillTokPerSec is prefill throughput.
func (s Stats) PrefillTokPerSec() float64 { return perSec(s.PrefillTokens, s.Prefill) }

// DecodeTokPerSec is decode throughput (tokens after the first, which the
// prefill produces, over the time spent decoding them).
func (s Stats) DecodeTokPerSec() float64 { return perSec(s.GeneratedTokens-1, s.Decode) }

func perSec(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Session is one conversation on an Engine. It is not safe for concurrent
// use; use one Session per goroutine (they share the Engine's weights).
type Session struct {
	e  *Engine
	be Backend
	// seq is the backend's state for the conversation; nil until the first
	// turn (a backend's sequence may load state, which takes a context).
	seq Sequence
	// broken is set when a failed turn could not be rolled back (a backend
	// that cannot truncate its KV cache): only Reset makes the session
	// usable again.
	broken error
	// ids are the tokens in the cache, with image pads as the pad id
	// (history for the repetition penalty and for inspection).
	ids []int32
	// pending holds generated tokens not yet run through the decoder (the
	// last sampled token of a turn). The next turn runs them first.
	pending []int32
	rope    mrope.Cursor // the next text rotary position (max position so far + 1)
	images  []imageSpan  // the conversation's images, in order
	logits  []float32
	// step buffers for feeding one generated token back (no allocation per token)
	stepID  [1]int32
	stepPos [1][3]int32
}

// NewSession starts an empty conversation. Its backend sequence is made on
// the first turn; Close releases it.
func (e *Engine) NewSession() *Session {
	return &Session{e: e, be: e.Backend, logits: make([]float32, e.Backend.Info().Vocab)}
}

// Close releases the conversation's backend state (its KV cache). The
// session is empty afterwards and may be used again.
func (s *Session) Close() error {
	if s.seq == nil {
		return nil
	}
	err := s.seq.Close()
	s.seq, s.broken = nil, nil
	s.ids, s.pending, s.images, s.rope = s.ids[:0], nil, nil, mrope.Cursor{}
	return err
}

// sequence makes the decoder state on first use and refuses a session a
// failed turn left inconsistent.
func (s *Session) sequence(ctx context.Context) error {
	if s.broken != nil {
		return fmt.Errorf("%w: this conversation could not be rolled back after a failed turn (%v); Reset it or start a new one", ErrUnsupportedInput, s.broken)
	}
	if s.seq != nil {
		return nil
	}
	seq, err := s.be.NewSequence(ctx)
	if err != nil {
		return cancelled(err)
	}
	s.seq = seq
	return nil
}

// CheckFits reports whether a turn adding newTokens tokens and newImages
// images fits: the backend's image limit (Core AI: one per conversation)
// and room to generate at least one token in the context. Callers check it
// before expensive work such as encoding images; Generate checks it again.
func (s *Session) CheckFits(newTokens, newImages int) error {
	if limit := s.e.MaxImages(); limit > 0 && len(s.images)+newImages > limit {
		return fmt.Errorf("%w: this backend holds %d image(s) per conversation; the conversation has %d and this turn adds %d (start a new conversation for another image)", ErrUnsupportedInput, limit, len(s.images), newImages)
	}
	if total := s.Len() + newTokens; total >= s.e.ContextLength {
		return fmt.Errorf("%w: the conversation would hold %d tokens and leave no room to generate in a context of %d", ErrContextOverflow, total, s.e.ContextLength)
	}
	return nil
}

// Len is the number of tokens in the conversation (cached plus pending).
func (s *Session) Len() int { return len(s.ids) + len(s.pending) }

// History returns the conversation's token ids (image pads as the pad id).
func (s *Session) History() []int32 { return append(slices.Clone(s.ids), s.pending...) }

// Pending returns generated tokens not yet run through the decoder.
func (s *Session) Pending() []int32 { return slices.Clone(s.pending) }

// LastLogits returns the logits of the most recent prefill or decode step
// whose token the host chose (a backend that picks tokens itself, see
// TokenPicker, leaves them stale).
func (s *Session) LastLogits() []float32 { return s.logits }

// Reset empties the conversation (keeps its buffers).
func (s *Session) Reset() {
	if s.seq != nil {
		// Truncate(0) cannot fail on the CPU; a backend whose reset fails
		// keeps refusing turns with that reason.
		s.broken = s.seq.Truncate(0)
	}
	s.ids, s.pending, s.images, s.rope = s.ids[:0], nil, nil, mrope.Cursor{}
}

// imageSpan is where an image sits in the conversation: its pads are
// tokens at .. at+grid.Rows*grid.Cols-1.
type imageSpan struct {
	at   int
	grid mrope.Grid
}

func (sp imageSpan) end() int { return sp.at + sp.grid.Rows*sp.grid.Cols }

// Truncate keeps the conversation's first n tokens (cached and pending)
// and drops the rest with the images among them, so that a next turn
// that continues the kept prefix prefills only its own tokens (a server
// reusing a finished request's cache for a prompt that extends it). n
// must not fall inside an image.
func (s *Session) Truncate(n int) error {
	if n < 0 || n > s.Len() {
		return fmt.Errorf("%w: truncate to %d tokens, the conversation has %d", ErrUnsupportedInput, n, s.Len())
	}
	keep := 0
	for _, sp := range s.images {
		if sp.end() > n {
			if sp.at < n {
				return fmt.Errorf("%w: truncate to %d tokens falls inside the image at tokens %d..%d", ErrUnsupportedInput, n, sp.at, sp.end()-1)
			}
			break
		}
		keep++
	}
	if n < len(s.ids) {
		if err := s.seq.Truncate(n); err != nil {
			return err
		}
		s.pending = s.pending[:0]
		s.ids = s.ids[:n]
	} else {
		s.pending = s.pending[:n-len(s.ids)]
	}
	s.images = s.images[:keep]
	// The next text position after the prefix: one per text token, and
	// each image advances it by its grid's longer side (mrope.Cursor).
	s.rope = mrope.Cursor{}
	text := min(n, len(s.ids))
	for _, sp := range s.images {
		text -= sp.grid.Rows * sp.grid.Cols
		s.rope.Image(sp.grid, make([][3]int32, sp.grid.Rows*sp.grid.Cols))
	}
	s.rope.Next += int32(text)
	return nil
}

// padID is the image placeholder id.
func (s *Session) padID() int32 { return s.e.Config.ImageTokenID }

// Generate appends in to the conversation, prefills the new tokens and
// streams generated tokens to yield until the turn ends; yield returning
// false stops generation like a cancelled context. The generated tokens stay
// in the conversation (a cancelled turn keeps its partial reply).
//
// A turn that would not fit in the context window fails with
// ErrContextOverflow before any work, leaving the session unchanged.
//
// Generate is Start, then Emit and Step until the turn ends; a server that
// decodes many conversations at once drives those itself (see Batcher).
func (s *Session) Generate(ctx context.Context, in Input, opt Options, yield func(Token) bool) (Stats, error) {
	t, err := s.Start(ctx, in, opt)
	if err != nil {
		return t.Stats(), err
	}
	for {
		tok, err := t.Emit(ctx)
		if err != nil {
			return t.Stats(), err
		}
		if !yield(tok) {
			t.Cancel()
			return t.Stats(), nil
		}
		if tok.End {
			return t.Stats(), nil
		}
		t.Step(ctx)
	}
}

// Start begins a turn: it validates in, adds its images to the sequence,
// prefills the new tokens and chooses the first reply token, which Emit
// then returns. On an error the session is unchanged (the returned Turn
// still reports Stats).
func (s *Session) Start(ctx context.Context, in Input, opt Options) (*Turn, error) {
	t := &Turn{s: s, opt: opt, start: time.Now(), st: Stats{Images: len(in.Images)}}
	if err := s.e.checkOpen(); err != nil {
		return t, err
	}
	if err := opt.Validate(); err != nil {
		return t, err
	}
	if len(opt.Stop) > 0 && s.e.Tokenizer == nil {
		return t, fmt.Errorf("%w: stop strings need a tokenizer", ErrUnsupportedInput)
	}
	newIDs := append(slices.Clone(s.pending), in.IDs...)
	if len(newIDs) == 0 {
		return t, fmt.Errorf("%w: empty input", ErrUnsupportedInput)
	}
	if err := s.checkImages(in); err != nil {
		return t, err
	}
	if err := s.CheckFits(len(in.IDs), len(in.Images)); err != nil {
		return t, err
	}
	for _, im := range in.Images {
		t.st.VisionEncode += im.EncodeTime
	}
	if err := s.sequence(ctx); err != nil {
		return t, err
	}

	// Everything below changes the session; on failure before generation
	// starts, restore it.
	saved := s.snapshot()
	runIDs, positions, err := s.place(ctx, newIDs, in.Images)
	t.prefillStart = time.Now()
	if err == nil {
		err = s.prefill(ctx, runIDs, positions, opt)
	}
	if err != nil {
		s.restore(saved)
		return t, cancelled(err)
	}
	s.ids = append(s.ids, newIDs...)
	s.pending = s.pending[:0]
	t.st.PromptTokens = len(s.ids)
	t.st.PrefillTokens = len(newIDs)
	t.st.Prefill = time.Since(t.prefillStart)
	t.begin()
	return t, nil
}

// checkImages validates that the pads in in.IDs match the images.
func (s *Session) checkImages(in Input) error {
	pads := 0
	for _, id := range in.IDs {
		if id == s.padID() {
			pads++
		}
	}
	want := 0
	for i, im := range in.Images {
		if im == nil || im.Handle == nil {
			return fmt.Errorf("%w: image %d is not encoded", ErrUnsupportedInput, i)
		}
		want += im.Tokens()
	}
	if pads != want {
		return fmt.Errorf("%w: the input has %d image pad tokens (id %d) but %d images were given, which need %d", ErrUnsupportedInput, pads, s.padID(), len(in.Images), want)
	}
	// Each image's pads must be one contiguous run of exactly its size.
	i, img := 0, 0
	for i < len(in.IDs) {
		if in.IDs[i] != s.padID() {
			i++
			continue
		}
		j := i
		for j < len(in.IDs) && in.IDs[j] == s.padID() && j-i < in.Images[img].Tokens() {
			j++
		}
		if j-i != in.Images[img].Tokens() {
			return fmt.Errorf("%w: image %d has %d consecutive pad tokens, want %d", ErrUnsupportedInput, img, j-i, in.Images[img].Tokens())
		}
		i, img = j, img+1
	}
	return nil
}

type snapshot struct {
	cacheLen, idsLen, images int
	rope                     mrope.Cursor
	pending                  []int32
}

func (s *Session) snapshot() snapshot {
	return snapshot{s.seq.Len(), len(s.ids), len(s.images), s.rope, slices.Clone(s.pending)}
}

// restore undoes a failed turn: Truncate to the old length also drops the
// images the turn added to the sequence.
func (s *Session) restore(sn snapshot) {
	if err := s.seq.Truncate(sn.cacheLen); err != nil {
		s.broken = err
	}
	s.ids, s.images, s.rope, s.pending = s.ids[:sn.idsLen], s.images[:sn.images], sn.rope, sn.pending
}

// place adds the turn's images to the sequence and turns new ids into
// decoder input: image pads become extension ids (mrope.ExtensionID, slots
// as the sequence numbered them) and every token gets its (t, h, w)
// position by Hugging Face's get_rope_index rule (mrope.Cursor), which is
// translation invariant, so a turn continues where the last one ended.
func (s *Session) place(ctx context.Context, ids []int32, images []*Image) ([]int32, [][3]int32, error) {
	vocab := s.be.Info().Vocab
	run := make([]int32, len(ids))
	positions := make([][3]int32, len(ids))
	img := 0
	for i := 0; i < len(ids); {
		if ids[i] != s.padID() {
			run[i], positions[i] = ids[i], s.rope.Text()
			i++
			continue
		}
		im := images[img]
		firstSlot, err := s.seq.AddImage(ctx, im.Handle)
		if err != nil {
			return nil, nil, err
		}
		s.images = append(s.images, imageSpan{at: len(s.ids) + i, grid: mrope.Grid{Rows: im.Rows, Cols: im.Cols}})
		for k := 0; k < im.Tokens(); k++ {
			run[i+k] = mrope.ExtensionID(vocab, firstSlot+k)
		}
		s.rope.Image(mrope.Grid{Rows: im.Rows, Cols: im.Cols}, positions[i:])
		i += im.Tokens()
		img++
	}
	return run, positions, nil
}

// DefaultPrefillChunk is the prompt tokens one batched prefill pass runs.
// Each pass widens every int8 weight to float32 once for all its rows, so
// longer chunks share that cost more widely: on the 4B shape (2-vCPU Zen 5)
// 256 gave 37–40 tok/s against 33–34 at 64. The activations grow with it
// (about 26 MB at 256 for the 4B), and cancellation is still seen between
// layers.
const DefaultPrefillChunk = 256

// prefill runs the new tokens, leaving the last one's logits in s.logits.
func (s *Session) prefill(ctx context.Context, ids []int32, positions [][3]int32, opt Options) error {
	chunk := opt.PrefillChunk
	if chunk == 0 {
		chunk = DefaultPrefillChunk
	}
	if opt.S1Prefill {
		chunk = 1
	}
	for i := 0; i < len(ids); i += chunk {
		j := min(i+chunk, len(ids))
		want := NoLogits
		if j == len(ids) {
			want = LastLogits
		}
		if err := s.seq.Forward(ctx, ids[i:j], positions[i:j], want, s.logits); err != nil {
			return err
		}
	}
	return nil
}

// Turn is one reply being generated on a Session, advanced by its owner:
// Emit returns the token chosen last (End set on the one that ends the
// turn), Step feeds it back and chooses the next. Each token is chosen on
// the backend when the sequence is a TokenPicker that can honour the
// settings (one id crosses per step), else on the host from the step's
// logits. A Turn, like its Session, is used by one goroutine at a time.
type Turn struct {
	s       *Session
	opt     Options
	st      Stats
	start   time.Time
	sampler *Sampler
	picker  TokenPicker
	detok   *tokenizer.StreamDecoder
	stops   *StopMatcher
	history []int32

	prefillStart, firstAt time.Time
	next                  int32 // the chosen token Emit returns next
	// nextLP, nextTop: the log-probabilities of next's step (Options.Logprobs);
	// raw holds the step's logits before sampling changes them.
	nextLP  float64
	nextTop []TokenLogprob
	raw     []float32
	err     error // a failure Emit reports
	done    bool
}

// begin prepares decoding after the prefill and chooses the first token
// from the prefill's logits.
func (t *Turn) begin() {
	s := t.s
	t.sampler = NewSampler(t.opt.Sampling)
	if p, ok := s.seq.(TokenPicker); ok && p.CanPick(t.opt.Sampling) && !t.opt.Logprobs {
		t.picker = p
	}
	if s.e.Tokenizer != nil {
		t.detok = s.e.Tokenizer.NewStreamDecoderSkipSpecial()
	}
	t.stops = NewStopMatcher(t.opt.Stop)
	t.history = slices.Clone(s.ids)
	t.pick()
}

// pick chooses the next token on the host from the session's logits row
// and, when asked, its log-probabilities.
func (t *Turn) pick() {
	s := t.s
	if !t.opt.Logprobs {
		t.next, t.err = s.hostPick(t.sampler, t.history, t.st.GeneratedTokens)
		return
	}
	// The sampler changes the row in place (repetition penalty): keep the
	// model's logits.
	t.raw = append(t.raw[:0], s.logits...)
	t.next, t.err = s.hostPick(t.sampler, t.history, t.st.GeneratedTokens)
	if t.err != nil {
		return
	}
	// Top is non-nil (maybe empty) exactly when logprobs were asked for.
	t.nextLP, t.nextTop = Logprobs(t.raw, t.next, make([]TokenLogprob, 0, t.opt.TopLogprobs))
}

// Logprobs returns the log-softmax, in float64, of logits at id, and fills
// top (up to its capacity) with the most likely tokens, most likely first
// (ties by lower id).
func Logprobs(logits []float32, id int32, top []TokenLogprob) (float64, []TokenLogprob) {
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = max(mx, float64(l))
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - mx)
	}
	lse := mx + math.Log(sum)
	k := cap(top)
	top = top[:0]
	for i, l := range logits {
		if k == 0 {
			break
		}
		v := float64(l)
		if len(top) == k && v <= top[k-1].Logprob {
			continue
		}
		j := len(top)
		if j < k {
			top = append(top, TokenLogprob{})
		} else {
			j = k - 1
		}
		for j > 0 && top[j-1].Logprob < v {
			top[j] = top[j-1]
			j--
		}
		top[j] = TokenLogprob{ID: int32(i), Logprob: v}
	}
	for i := range top {
		top[i].Logprob -= lse
	}
	return float64(logits[id]) - lse, top
}

// Stats describes the turn so far (complete once it has ended).
func (t *Turn) Stats() Stats {
	st := t.st
	st.Total = time.Since(t.start)
	return st
}

// Done reports whether the turn has ended (End emitted, an error, Cancel).
func (t *Turn) Done() bool { return t.done }

// Cancel ends the turn early (the consumer stopped reading): the tokens
// emitted so far stay in the conversation.
func (t *Turn) Cancel() {
	if !t.done {
		t.done, t.st.FinishReason = true, "cancelled"
	}
}

// Emit returns the chosen token as the stream sees it, or the error the
// last step met (a cancelled ctx included). After an End token or an
// error the turn is done.
func (t *Turn) Emit(ctx context.Context) (Token, error) {
	if t.done {
		return Token{}, fmt.Errorf("%w: the turn has ended", ErrUnsupportedInput)
	}
	s, st := t.s, &t.st
	err := t.err
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		t.done = true
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			st.FinishReason = "cancelled"
		}
		return Token{}, cancelled(err)
	}
	id := t.next
	t.history = append(t.history, id)
	s.pending = append(s.pending, id)
	st.GeneratedTokens++
	if st.GeneratedTokens == 1 {
		t.firstAt = time.Now()
		st.TimeToFirstToken = t.firstAt.Sub(t.prefillStart)
	}
	st.Decode = time.Since(t.firstAt)

	tok := Token{ID: id, Logprob: t.nextLP, Top: t.nextTop}
	t.nextTop = nil
	switch {
	case s.e.isEOS(id):
		tok.End, st.FinishReason = true, "eos"
	default:
		if t.detok != nil {
			text, stopped := t.stops.Push(t.detok.Add(id))
			tok.Text = text
			if stopped {
				tok.End, st.FinishReason = true, "stop"
			}
		}
		if !tok.End && t.opt.MaxTokens > 0 && st.GeneratedTokens >= t.opt.MaxTokens {
			tok.End, st.FinishReason = true, "length"
		}
		if !tok.End && s.seq.Len()+1 >= s.e.ContextLength {
			tok.End, st.FinishReason = true, "context"
		}
	}
	if tok.End && st.FinishReason != "stop" && t.detok != nil {
		tok.Text += t.stops.Flush()
	}
	if tok.End {
		t.done = true
		tok.FinishReason, tok.PromptTokens, tok.CompletionTokens = st.FinishReason, st.PromptTokens, st.GeneratedTokens
		tok.CachedTokens = st.PromptTokens - st.PrefillTokens
	}
	return tok, nil
}

// step runs the generated token in s.stepID (Stepper.Step where the
// sequence has it), leaving its logits in s.logits.
func (s *Session) step(ctx context.Context) error {
	if st, ok := s.seq.(Stepper); ok {
		return st.Step(ctx, s.stepID[:], s.stepPos[:], s.logits)
	}
	return s.seq.Forward(ctx, s.stepID[:], s.stepPos[:], LastLogits, s.logits)
}

// Step feeds the emitted token back (its position continues the text
// rule) and chooses the next one. A failure is reported by the next Emit.
func (t *Turn) Step(ctx context.Context) {
	if t.done || t.err != nil {
		return
	}
	s := t.s
	rope := s.rope
	s.stepID[0], s.stepPos[0] = t.next, rope.Text()
	before := s.seq.Len()
	if t.picker != nil {
		t.next, t.err = t.picker.ForwardPick(ctx, s.stepID[:], s.stepPos[:], t.opt.Sampling, t.history, t.sampler.draw())
	} else if t.err = s.step(ctx); t.err == nil {
		t.pick()
	}
	if s.seq.Len() > before { // the token ran (even if choosing the next failed)
		t.stepped(rope)
	}
}

// stepped records that the emitted token ran at the position rope was
// advanced past.
func (t *Turn) stepped(rope mrope.Cursor) {
	s := t.s
	s.rope = rope
	s.ids = append(s.ids, s.stepID[0])
	s.pending = s.pending[:0]
}

// hostPick chooses the next token from s.logits. generated is the number
// of tokens of the reply so far (for the error message).
func (s *Session) hostPick(sampler *Sampler, history []int32, generated int) (int32, error) {
	if i := firstNaN(s.logits); i >= 0 {
		return 0, fmt.Errorf("the decoder produced NaN logits (logit %d, reply token %d): the model's weights or config.json numbers are corrupt", i, generated+1)
	}
	return sampler.Sample(s.logits, history), nil
}

// firstNaN returns the index of the first NaN in x, or -1. Sampling NaN
// logits would silently pick token 0 forever (every comparison is false), so
// a corrupt model must stop with an error instead. The scan costs about one
// vocabulary-length pass per token, nothing beside the decoder step.
func firstNaN(x []float32) int {
	for i, v := range x {
		if v != v {
			return i
		}
	}
	return -1
}
