package vlmrt

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"iter"
	"runtime"
	"strings"
	"sync"

	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/tokenizer"
	"github.com/vlmrt/vlmrt/vision"
)

// Token is one streamed piece of an answer.
type Token struct {
	ID int32
	// Text is newly completed UTF-8 text (may be empty while a multi-byte
	// character is still incomplete, and for the end-of-turn token).
	Text string
	// End is set on the token that ended the turn: the last item of a
	// stream that finished (a stream that fails ends with its error
	// instead, one cancelled by breaking out of the loop simply stops).
	End bool
	// FinishReason, on the End token, says why the turn ended: "eos",
	// "stop", "length" or "context".
	FinishReason string
	// Usage, on the End token, counts the turn's prompt and completion
	// tokens (nil on every other token).
	Usage *Usage
	// With GenerateOptions.Logprobs: Bytes is the token's own bytes (its
	// piece of the vocabulary, which may be part of a UTF-8 character that
	// Text delivers whole later; none for a special token, which adds no
	// text), Logprob its natural log-probability, and
	// TopLogprobs the GenerateOptions.TopLogprobs most likely tokens of its
	// step, most likely first. The numbers are the log-softmax, computed
	// in float64, of the step's raw logits: the model's distribution,
	// before the repetition penalty, temperature and top-k/top-p/min-p.
	Bytes       []byte
	Logprob     float64
	TopLogprobs []TokenLogprob
}

// TokenLogprob is a candidate token of a step: its id, its bytes as a
// string (possibly an incomplete UTF-8 sequence) and its log-probability.
type TokenLogprob struct {
	ID      int32
	Text    string
	Logprob float64
}

// MaxTopLogprobs bounds GenerateOptions.TopLogprobs.
const MaxTopLogprobs = engine.MaxTopLogprobs

// ResizeMode says how an image is fitted to the model's square input.
type ResizeMode = vision.ResizeMode

// Part is one piece of a message: text or an image.
type Part struct {
	text    string
	image   imageSource
	isImage bool // made by an image constructor, even with a nil source
}

type imageSource struct {
	path    string
	reader  io.Reader
	img     image.Image
	patches []float32
	// gridRows, gridCols: the patch grid of patches (0: the fixed grid).
	gridRows, gridCols int
	// fit overrides the chat's resize mode and budget for this image.
	fit *imageFit
}

type imageFit struct {
	resize ResizeMode
	budget ImageBudget
}

func (s imageSource) isSet() bool {
	return s.path != "" || s.reader != nil || s.img != nil || s.patches != nil
}

// Text is a text part.
func Text(s string) Part { return Part{text: s} }

// ImageFile is an image part read from a file (JPEG, PNG, GIF, WebP, BMP, TIFF).
func ImageFile(path string) Part { return Part{image: imageSource{path: path}, isImage: true} }

// ImageReader is an image part decoded from r when the message is sent.
func ImageReader(r io.Reader) Part { return Part{image: imageSource{reader: r}, isImage: true} }

// Image is an image part from a decoded image.
func Image(img image.Image) Part { return Part{image: imageSource{img: img}, isImage: true} }

// ImagePatches is an image part already preprocessed into the model's
// patch tensor ([784, 1536] for the fixed 448×448 grid, as `vlmrt
// preprocess` writes it): an expert input that skips decoding and resizing.
func ImagePatches(patches []float32) Part {
	return Part{image: imageSource{patches: patches}, isImage: true}
}

// Message is one conversation turn: text and images in any order.
type Message struct {
	Role  string // "user" (default), "system" or "assistant"
	Parts []Part
}

// User builds a user message from parts.
func User(parts ...Part) Message { return Message{Role: "user", Parts: parts} }

// ChatOption configures a Chat.
type ChatOption func(*chatOptions)

type chatOptions struct {
	maxImages, maxImageTokens int // WithImageLimit; 0 = no limit
	system                    string
	gen                       GenerateOptions
	resize                    ResizeMode
	budget                    ImageBudget // ResizeNative's pixel budget
}

// GenerateOptions are the per-turn generation settings.
type GenerateOptions struct {
	Sampling
	MaxTokens int      // 0 = until end of turn or context
	Stop      []string // stop strings (not emitted)
	// S1Prefill runs the prompt one token per pass (the seed's contract);
	// default is batched prefill.
	S1Prefill bool
	// Logprobs sets Token.Logprob and Token.Bytes on every generated token;
	// TopLogprobs (0..MaxTopLogprobs, needs Logprobs) fills
	// Token.TopLogprobs with that many alternatives. On a GPU backend that
	// samples on the device, a turn with Logprobs samples on the host.
	Logprobs    bool
	TopLogprobs int
}

// WithSystem sets the system prompt.
func WithSystem(text string) ChatOption { return func(o *chatOptions) { o.system = text } }

// WithGenerate sets sampling, max tokens and stop strings for every turn.
func WithGenerate(g GenerateOptions) ChatOption { return func(o *chatOptions) { o.gen = g } }

// WithResize sets how images are fitted (default: plain resize to 448×448).
func WithResize(r ResizeMode) ChatOption { return func(o *chatOptions) { o.resize = r } }

// Chat is one conversation. It keeps its KV cache between turns. A Chat
// must not be used from two goroutines at once; use one Chat per
// conversation (they share the Model).
//
// Reset, SetSystem, SetGenerate and Tokens wait for a running turn to end,
// so call them between turns, not from inside a Send loop; Stats never waits.
// A Send while another turn of the same Chat runs fails with
// ErrUnsupportedInput.
type Chat struct {
	m     *Model
	opt   chatOptions
	mu    sync.Mutex // held for a whole turn
	s     *engine.Session
	turns int
	// images and imageTokens count what the conversation holds, for
	// WithImageLimit.
	images, imageTokens int

	statsMu sync.Mutex
	last    Stats
}

// NewChat starts a conversation.
func (m *Model) NewChat(opts ...ChatOption) *Chat {
	c := &Chat{m: m}
	for _, o := range opts {
		o(&c.opt)
	}
	if m != nil && m.engine != nil {
		c.s = m.engine.NewSession()
		// A dropped Chat gives its KV cache back (device memory on a GPU
		// backend, which the garbage collector does not see) once
		// collected, unless the Model was closed first (then the device
		// is gone and nothing is left to release).
		runtime.AddCleanup(c, func(s *engine.Session) {
			if m.acquire() == nil {
				s.Close()
				m.mu.RUnlock()
			}
		}, c.s)
	}
	return c
}

// Reset clears the conversation (the system prompt stays).
func (c *Chat) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s != nil {
		c.s.Reset()
	}
	c.turns, c.images, c.imageTokens = 0, 0, 0
}

// Close releases the conversation's backend state (its KV cache: device
// memory on a GPU backend) and clears it; a later Send starts afresh.
// Dropping a Chat without Close leaves the release to the garbage collector.
func (c *Chat) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.turns, c.images, c.imageTokens = 0, 0, 0
	if c.s == nil {
		return nil
	}
	return c.s.Close()
}

// SetSystem replaces the system prompt and clears the conversation.
func (c *Chat) SetSystem(text string) {
	c.mu.Lock()
	c.opt.system = text
	c.mu.Unlock()
	c.Reset()
}

// SetGenerate replaces the generation settings for later turns.
func (c *Chat) SetGenerate(g GenerateOptions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opt.gen = g
}

// Stats returns the statistics of the last turn.
func (c *Chat) Stats() Stats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.last
}

// Tokens returns the conversation so far as token ids.
func (c *Chat) Tokens() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s == nil {
		return nil
	}
	return c.s.History()
}

// Send adds msg to the conversation and streams the reply. Breaking out of
// the loop or cancelling ctx stops generation within one decode step; the
// partial reply stays in the conversation, as a later turn will see it.
// A turn that would overflow the context fails with ErrContextOverflow
// before generating and leaves the chat usable.
//
// opts override the chat's generation settings for this turn only. The
// last token of a finished turn has End set and carries its FinishReason
// and Usage.
func (c *Chat) Send(ctx context.Context, msg Message, opts ...SendOption) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		_, err := c.send(ctx, []Message{msg}, opts, func(t Token) bool { return yield(t, nil) })
		if err != nil {
			yield(Token{}, err)
		}
	}
}

// SendFunc is Send for callback style: fn receives each token; returning an
// error stops generation and is returned.
func (c *Chat) SendFunc(ctx context.Context, msg Message, fn func(Token) error, opts ...SendOption) (*Response, error) {
	var cbErr error
	resp, err := c.send(ctx, []Message{msg}, opts, func(t Token) bool {
		cbErr = fn(t)
		return cbErr == nil
	})
	if cbErr != nil {
		return resp, cbErr
	}
	return resp, err
}

// SendOption overrides a generation setting for one Send.
type SendOption func(*GenerateOptions)

// WithSettings replaces every generation setting for one Send.
func WithSettings(g GenerateOptions) SendOption { return func(o *GenerateOptions) { *o = g } }

// WithMaxTokens caps the reply of one Send (0 = until end of turn or context).
func WithMaxTokens(n int) SendOption { return func(o *GenerateOptions) { o.MaxTokens = n } }

// WithSampling sets how one Send chooses tokens.
func WithSampling(s Sampling) SendOption { return func(o *GenerateOptions) { o.Sampling = s } }

// WithStop sets the stop strings of one Send.
func WithStop(stop ...string) SendOption { return func(o *GenerateOptions) { o.Stop = stop } }

// send runs one turn made of msgs (the last one from the user) with the
// chat's settings overridden by opts.
func (c *Chat) send(ctx context.Context, msgs []Message, opts []SendOption, yield func(Token) bool) (*Response, error) {
	// A second Send while a turn runs (another goroutine, or a Send from
	// inside this turn's own loop, which would wait for itself forever) is
	// an error, not a wait. The chat lock comes first so that a refused Send
	// never takes the model's read lock a second time (a pending Close
	// would deadlock it).
	if !c.mu.TryLock() {
		return nil, fmt.Errorf("%w: this Chat is already running a turn (one Send at a time per Chat; use a Chat per conversation)", ErrUnsupportedInput)
	}
	defer c.mu.Unlock()
	if err := c.m.acquire(); err != nil {
		return nil, err
	}
	defer c.m.mu.RUnlock()
	if c.s == nil { // a zero Chat, or one made from a zero Model
		return nil, fmt.Errorf("%w: a zero Chat holds no conversation (use Model.NewChat)", ErrClosed)
	}
	gen := c.opt.gen
	for _, o := range opts {
		o(&gen)
	}
	if last := msgs[len(msgs)-1]; last.Role != "" && last.Role != "user" {
		return nil, fmt.Errorf("%w: the last message of a turn must be from the user, got role %q", ErrUnsupportedInput, last.Role)
	}
	in, images, err := c.buildInput(ctx, msgs)
	if err != nil {
		return nil, err
	}
	// The turn copies the images into the conversation; their encodings
	// (device memory on a GPU backend) are not needed after it.
	defer releaseImages(images)
	resp := &Response{}
	var text strings.Builder
	est, err := c.s.Generate(ctx, engine.Input{IDs: in, Images: images}, gen.engineOptions(), func(t engine.Token) bool {
		resp.Tokens = append(resp.Tokens, t.ID)
		text.WriteString(t.Text)
		return yield(c.m.publicToken(t))
	})
	st := Stats(est)
	resp.Text, resp.Stats, resp.FinishReason = text.String(), st, st.FinishReason
	if st.PrefillTokens > 0 { // the turn entered the conversation
		c.turns++
		for _, im := range images {
			c.images++
			c.imageTokens += im.Tokens()
		}
	}
	c.statsMu.Lock()
	c.last = st
	c.statsMu.Unlock()
	return resp, err
}

func (g GenerateOptions) engineOptions() engine.Options {
	return engine.Options{Sampling: engine.Sampling(g.Sampling), MaxTokens: g.MaxTokens, Stop: g.Stop, S1Prefill: g.S1Prefill,
		Logprobs: g.Logprobs, TopLogprobs: g.TopLogprobs}
}

// publicToken is the engine's token as the API streams it.
func (m *Model) publicToken(t engine.Token) Token {
	out := Token{ID: t.ID, Text: t.Text, End: t.End, FinishReason: t.FinishReason}
	if t.End {
		out.Usage = &Usage{PromptTokens: t.PromptTokens, CachedTokens: t.CachedTokens, CompletionTokens: t.CompletionTokens}
	}
	if t.Top == nil { // no logprobs asked for
		return out
	}
	tok := m.engine.Tokenizer
	piece := func(id int32, skipSpecial bool) []byte {
		if tok == nil {
			return nil
		}
		return tok.DecodeBytes([]int32{id}, skipSpecial)
	}
	out.Bytes, out.Logprob = piece(t.ID, true), t.Logprob
	out.TopLogprobs = make([]TokenLogprob, len(t.Top))
	for i, c := range t.Top {
		out.TopLogprobs[i] = TokenLogprob{ID: c.ID, Text: string(piece(c.ID, false)), Logprob: c.Logprob}
	}
	return out
}

// buildInput tokenizes the turn's messages (with the system prompt first,
// or the closing of the previous assistant reply) and encodes their images.
func (c *Chat) buildInput(ctx context.Context, msgs []Message) ([]int32, []*engine.Image, error) {
	e := c.m.engine
	ids, prepared, err := c.m.render(ctx, &c.opt, msgs, c.s.Len() == 0)
	if err != nil {
		return nil, nil, err
	}
	if c.s.Len() > 0 {
		ids = append(c.closeReply(), ids...)
	}
	// Overflow and the backend's image limit fail before the vision work.
	if err := c.s.CheckFits(len(ids), len(prepared)); err != nil {
		return nil, nil, err
	}
	if err := c.checkImageLimit(prepared); err != nil {
		return nil, nil, err
	}
	images := make([]*engine.Image, 0, len(prepared))
	for i, p := range prepared {
		im, err := e.EncodeGrid(ctx, p.patches, p.grid.Rows, p.grid.Cols)
		if err != nil {
			releaseImages(images)
			return nil, nil, fmt.Errorf("image %d: %w", i+1, err)
		}
		images = append(images, im)
	}
	return ids, images, nil
}

// releaseImages frees encoded images once a turn no longer needs them:
// a GPU backend holds each in a device buffer the garbage collector does
// not see.
func releaseImages(images []*engine.Image) {
	for _, im := range images {
		im.Handle.Release()
	}
}

// render tokenizes a turn's messages (after the system prompt when first,
// the conversation's first turn) and prepares their images: decoded,
// resized and cut into patches, not yet encoded.
func (m *Model) render(ctx context.Context, o *chatOptions, msgs []Message, first bool) ([]int32, []preparedImage, error) {
	var tms []tokenizer.Message
	if first && o.system != "" {
		tms = append(tms, tokenizer.TextMessage("system", o.system))
	}
	var sources []imageSource
	for _, msg := range msgs {
		tm := tokenizer.Message{Role: msg.Role}
		if tm.Role == "" {
			tm.Role = "user"
		}
		switch tm.Role {
		case "user", "assistant", "system":
		default:
			return nil, nil, fmt.Errorf("%w: unknown message role %q", ErrUnsupportedInput, msg.Role)
		}
		for _, p := range msg.Parts {
			switch {
			case p.isImage && tm.Role != "user":
				return nil, nil, fmt.Errorf("%w: images are only allowed in user messages", ErrUnsupportedInput)
			case p.isImage && !p.image.isSet():
				// Image(nil), ImageFile(""), ... would otherwise pass as an empty text part.
				return nil, nil, fmt.Errorf("%w: image %d of the message is empty (nil image, nil reader, nil patches or empty path)", ErrUnsupportedInput, len(sources)+1)
			case p.isImage:
				tm.Content = append(tm.Content, tokenizer.Part{Type: "image"})
				sources = append(sources, p.image)
			default:
				tm.Content = append(tm.Content, tokenizer.Part{Type: "text", Text: p.text})
			}
		}
		if len(tm.Content) == 0 {
			return nil, nil, fmt.Errorf("%w: empty %s message", ErrUnsupportedInput, tm.Role)
		}
		tms = append(tms, tm)
	}
	// Images are decoded and resized first: under native resolution each
	// image's token count depends on its size, and the prompt needs it.
	prepared := make([]preparedImage, len(sources))
	pads := make([]int, len(sources))
	for i, src := range sources {
		p, err := m.prepareImage(ctx, o, src)
		if err != nil {
			return nil, nil, fmt.Errorf("image %d: %w", i+1, err)
		}
		prepared[i], pads[i] = p, p.grid.Tokens()
	}
	prompt, err := m.engine.Tokenizer.EncodeChatImages(tms, tokenizer.ChatOptions{AddGenerationPrompt: true}, pads)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnsupportedInput, err)
	}
	return prompt.IDs, prepared, nil
}

// closeReply returns the tokens that end the previous assistant turn in
// ChatML: <|im_end|> (unless the reply already ended with it) and "\n".
func (c *Chat) closeReply() []int32 {
	tok := c.m.engine.Tokenizer
	hist := c.s.History()
	imEnd, _ := tok.TokenID("<|im_end|>")
	if len(hist) > 0 && hist[len(hist)-1] == imEnd {
		return tok.Encode("\n")
	}
	return tok.Encode("<|im_end|>\n")
}

// preparedImage is an image cut into patches, not yet encoded.
type preparedImage struct {
	patches []float32
	grid    vision.PatchGrid
}

// prepareImage decodes, resizes and patchifies one image with o's resize
// mode and budget (or the image's own Fit).
func (m *Model) prepareImage(ctx context.Context, o *chatOptions, src imageSource) (preparedImage, error) {
	e := m.engine
	opt := vision.PreprocessOptions{Resize: o.resize, Grid: e.Grid, Budget: vision.Budget(o.budget)}
	if src.fit != nil {
		opt.Resize, opt.Budget = src.fit.resize, vision.Budget(src.fit.budget)
	}
	var pre *vision.Preprocessed
	var err error
	switch {
	case src.patches != nil:
		grid := vision.PatchGrid{Rows: src.gridRows, Cols: src.gridCols, Merge: e.Grid.MergeSize}
		if grid.Rows == 0 && grid.Cols == 0 {
			grid.Rows, grid.Cols = e.Grid.PatchesPerSide(), e.Grid.PatchesPerSide()
		}
		if merge := grid.Merge; grid.Rows <= 0 || grid.Cols <= 0 || grid.Rows%merge != 0 || grid.Cols%merge != 0 {
			return preparedImage{}, fmt.Errorf("%w: a %d×%d patch grid is not a positive multiple of the merge size %d", ErrUnsupportedInput, grid.Rows, grid.Cols, merge)
		}
		if want := grid.NumPatches() * e.Grid.PatchDim(); len(src.patches) != want {
			return preparedImage{}, fmt.Errorf("%w: precomputed patches hold %d values, want [%d, %d] = %d", ErrUnsupportedInput, len(src.patches), grid.NumPatches(), e.Grid.PatchDim(), want)
		}
		return preparedImage{src.patches, grid}, nil
	case src.path != "":
		pre, err = vision.PreprocessFile(ctx, src.path, opt)
	case src.reader != nil:
		pre, err = vision.PreprocessReader(ctx, src.reader, opt)
	default:
		pre, err = vision.PreprocessImage(ctx, src.img, opt)
	}
	if err != nil {
		if ctx.Err() != nil {
			return preparedImage{}, fmt.Errorf("%w: %w", ErrCancelled, err)
		}
		if errors.Is(err, vision.ErrImageFile) {
			return preparedImage{}, err // a path problem, not an unsupported image
		}
		return preparedImage{}, fmt.Errorf("%w: %w", ErrUnsupportedInput, err)
	}
	return preparedImage{pre.Patches, pre.Patch}, nil
}

// Request is a one-shot generation: a conversation and settings.
type Request struct {
	System   string
	Messages []Message // user messages (and earlier assistant replies as text)
	GenerateOptions
	Resize ResizeMode
	// ImageBudget bounds each image's pixels under ResizeNative.
	ImageBudget ImageBudget
}

// Response is a finished answer.
type Response struct {
	Text         string
	Tokens       []int32
	FinishReason string // "eos", "stop", "length", "context", "cancelled"
	Stats        Stats
}

// Generate answers a request in one call. Earlier assistant messages are
// rendered into the prompt; the last message must be from the user.
func (m *Model) Generate(ctx context.Context, req Request) (*Response, error) {
	return m.GenerateFunc(ctx, req, func(Token) error { return nil })
}

// GenerateFunc is Generate streaming each token to fn as it is generated
// (the form an HTTP server needs for a whole conversation sent at once);
// an error from fn stops generation and is returned.
func (m *Model) GenerateFunc(ctx context.Context, req Request, fn func(Token) error) (*Response, error) {
	if len(req.Messages) == 0 {
		return nil, fmt.Errorf("%w: request has no messages", ErrUnsupportedInput)
	}
	c := m.NewChat(WithSystem(req.System), WithGenerate(req.GenerateOptions), WithResize(req.Resize), WithImageBudget(req.ImageBudget))
	defer c.Close()
	var cbErr error
	resp, err := c.send(ctx, req.Messages, nil, func(t Token) bool {
		cbErr = fn(t)
		return cbErr == nil
	})
	if cbErr != nil {
		return resp, cbErr
	}
	return resp, err
}
