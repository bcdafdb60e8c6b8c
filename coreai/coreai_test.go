//go:build (darwin || linux) && (amd64 || arm64)

package coreai_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/bundle"
	_ "github.com/vlmrt/vlmrt/coreai"
	"github.com/vlmrt/vlmrt/internal/coreai"
	"github.com/vlmrt/vlmrt/internal/coreai/coreaitest"
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/mrope"
	"github.com/vlmrt/vlmrt/vision"
)

// The fake bridge is loaded once per process (coreai binds the library
// once), so every test shares one build, with a real tokenizer's id range.
var (
	fakeOnce sync.Once
	fakeDir  string
)

const fakeVocab = 151936 // Qwen3-VL's vocab_size, as the fixture's metadata says

func useFakeBridge(t *testing.T) {
	t.Helper()
	fakeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vlmrt-coreai-fake")
		if err != nil {
			t.Fatal(err)
		}
		fakeDir = dir
		lib := coreaitest.BuildFake(t, dir, "-DFAKE_VOCAB_SIZE=151936")
		os.Setenv(coreai.EnvBridge, lib)
	})
	if fakeDir == "" {
		t.Fatal("the fake bridge failed to build (see the first test's failure)")
	}
}

// coreAIPair copies the Core AI fixture (the seed's bundle pair layout)
// and adds the real tokenizer, as the bundle tests do.
func coreAIPair(t *testing.T) (root, decoder, visionDir string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "Qwen3-VL-4B-CoreAI")
	copyDir(t, filepath.Join("..", "testdata", "bundles", "coreai"), root)
	decoder = filepath.Join(root, "gpu-pipelined", "qwen3_vl_4b_instruct_decode_int8hu_s1")
	visionDir = filepath.Join(root, "gpu-pipelined", "qwen3_vl_4b_instruct_vision")
	copyOne(t, filepath.Join("..", "testdata", "tokenizer", "tokenizer.json.gz"), filepath.Join(decoder, "tokenizer", "tokenizer.json.gz"))
	return root, decoder, visionDir
}

func openCoreAI(t *testing.T, opts ...vlmrt.Option) (m *vlmrt.Model, decoder, visionDir string) {
	t.Helper()
	useFakeBridge(t)
	root, decoder, visionDir := coreAIPair(t)
	m, err := vlmrt.Open(context.Background(), root, append([]vlmrt.Option{vlmrt.WithBackend(vlmrt.BackendCoreAI)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	roots.Store(m, root)
	return m, decoder, visionDir
}

// roots remembers where each test model was opened from.
var roots sync.Map // *vlmrt.Model → string

// engineOf opens m's bundle pair on the Core AI backend through the engine
// directly, as an expert test drives sessions (the API keeps the engine
// internal).
func engineOf(t *testing.T, m *vlmrt.Model) *engine.Engine {
	t.Helper()
	root, _ := roots.Load(m)
	loc, err := bundle.Resolve(root.(string))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(context.Background(), "coreai", engine.OpenRequest{Path: root.(string), Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func fixedPatches(t *testing.T, m *vlmrt.Model) []float32 {
	t.Helper()
	pre, err := vision.PreprocessFile(context.Background(), "../testdata/tiny-a/golden/image1.png", vision.PreprocessOptions{Grid: engine.FixedGrid(m.Info().Config.Vision)})
	if err != nil {
		t.Fatal(err)
	}
	return pre.Patches
}

// referenceGreedy drives internal/coreai directly with the seed contract's
// ids and positions (extension ids, the rope shift from the first pad) and
// returns n greedy tokens after prompt, and the logits after the prompt.
func referenceGreedy(t *testing.T, decoder, visionDir string, prompt []int32, padID int32, patches []float32, n int) ([]int32, []float32) {
	t.Helper()
	ctx := context.Background()
	s, err := coreai.Open(ctx, decoder, visionDir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v := s.Info().Vocab
	ext, firstPad, pads := mrope.ExtensionIDs(prompt, padID, v)
	if pads != 196 {
		t.Fatalf("prompt holds %d pads, want 196", pads)
	}
	if err := s.EncodeImage(ctx, patches); err != nil {
		t.Fatal(err)
	}
	start, amount := mrope.RopeShift(firstPad, pads, 14, 14)
	if err := s.SetStatic(ctx, coreai.Static{RopeShiftStart: start, RopeShiftAmount: amount}); err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, v)
	for i, id := range ext {
		if err := s.Step(ctx, []int32{id}, int32(i), logits); err != nil {
			t.Fatal(err)
		}
	}
	first := slices.Clone(logits)
	var out []int32
	for len(out) < n {
		id := int32(argmax(logits))
		out = append(out, id)
		if len(out) == n {
			break
		}
		if err := s.Step(ctx, []int32{id}, int32(s.Len()), logits); err != nil {
			t.Fatal(err)
		}
	}
	return out, first
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func TestCoreAIBackendChatMatchesBridge(t *testing.T) {
	m, decoder, visionDir := openCoreAI(t)
	if info := m.Info(); info.Backend != vlmrt.BackendCoreAI || info.ImageTokens != 196 || info.Config.Text.VocabSize != fakeVocab {
		t.Fatalf("info: %+v", info)
	}
	patches := fixedPatches(t, m)
	const maxTokens = 6
	chat := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: maxTokens}))
	var got []int32
	for tok, err := range chat.Send(context.Background(), vlmrt.User(vlmrt.ImagePatches(patches), vlmrt.Text("What is in this picture?"))) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tok.ID)
	}
	hist := chat.Tokens()
	if len(got) != maxTokens || len(hist) < len(got) {
		t.Fatalf("generated %d tokens, history %d", len(got), len(hist))
	}
	prompt := hist[:len(hist)-len(got)]
	padID := m.Info().Config.ImageTokenID
	want, _ := referenceGreedy(t, decoder, visionDir, prompt, padID, patches, maxTokens)
	if !slices.Equal(got, want) {
		t.Errorf("Core AI backend generated %v, driving the bridge directly gives %v", got, want)
	}

	// The runtime session's logits after the prompt equal the bridge's
	// exactly (same float16 embeddings, same positions).
	e := engineOf(t, m)
	im, err := e.EncodePatches(context.Background(), patches)
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewSession()
	if _, err := s.Generate(context.Background(), engine.Input{IDs: prompt, Images: []*engine.Image{im}}, engine.Options{MaxTokens: 1}, func(engine.Token) bool { return true }); err != nil {
		t.Fatal(err)
	}
	_, wantLogits := referenceGreedy(t, decoder, visionDir, prompt, padID, patches, 1)
	if !slices.Equal(s.LastLogits(), wantLogits) {
		t.Error("the runtime session's logits after the prompt differ from the bridge's")
	}
}

func TestCoreAIBackendSecondImageRefused(t *testing.T) {
	m, _, _ := openCoreAI(t)
	patches := fixedPatches(t, m)
	ctx := context.Background()
	chat := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 2}))
	// Two images in one message: refused before any encode or step.
	_, err := chat.SendFunc(ctx, vlmrt.User(vlmrt.ImagePatches(patches), vlmrt.ImagePatches(patches), vlmrt.Text("Compare.")), func(vlmrt.Token) error { return nil })
	if !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Fatalf("two images: %v, want ErrUnsupportedInput", err)
	}
	if n := len(chat.Tokens()); n != 0 {
		t.Fatalf("the refused turn left %d tokens", n)
	}
	// One image, then a second in the next turn: refused, the chat keeps
	// its first turn and stays usable.
	if _, err := chat.SendFunc(ctx, vlmrt.User(vlmrt.ImagePatches(patches), vlmrt.Text("Describe.")), func(vlmrt.Token) error { return nil }); err != nil {
		t.Fatal(err)
	}
	before := chat.Tokens()
	_, err = chat.SendFunc(ctx, vlmrt.User(vlmrt.ImagePatches(patches), vlmrt.Text("And this?")), func(vlmrt.Token) error { return nil })
	if !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Fatalf("second image: %v, want ErrUnsupportedInput", err)
	}
	if !slices.Equal(chat.Tokens(), before) {
		t.Error("the refused second image changed the conversation")
	}
	if _, err := chat.SendFunc(ctx, vlmrt.User(vlmrt.Text("Thanks.")), func(vlmrt.Token) error { return nil }); err != nil {
		t.Errorf("a text turn after the refusal: %v", err)
	}
	// The runtime refuses a second image even past the Chat's check, before
	// any bridge step (the session is unchanged).
	e := engineOf(t, m)
	im, err := e.EncodePatches(ctx, patches)
	if err != nil {
		t.Fatal(err)
	}
	pad := m.Info().Config.ImageTokenID
	ids := append(slices.Repeat([]int32{pad}, 196), slices.Repeat([]int32{pad}, 196)...)
	s := e.NewSession()
	_, err = s.Generate(ctx, engine.Input{IDs: ids, Images: []*engine.Image{im, im}}, engine.Options{MaxTokens: 1}, func(engine.Token) bool { return true })
	if !errors.Is(err, engine.ErrUnsupportedInput) || s.Len() != 0 {
		t.Errorf("two images through the runtime: %v (len %d), want ErrUnsupportedInput and an empty session", err, s.Len())
	}
}

func TestCoreAIBackendLimits(t *testing.T) {
	useFakeBridge(t)
	root, _, _ := coreAIPair(t)
	ctx := context.Background()
	if _, err := vlmrt.Open(ctx, root, vlmrt.WithBackend(vlmrt.BackendCoreAI), vlmrt.WithPrecision(vlmrt.F32)); !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Errorf("f32: %v, want ErrUnsupportedInput", err)
	}
	if _, err := vlmrt.Open(ctx, "../testdata/tiny-a", vlmrt.WithBackend(vlmrt.BackendCoreAI)); !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Errorf("a checkpoint on the Core AI backend: %v, want ErrUnsupportedInput", err)
	}
	m, _, _ := openCoreAI(t)
	// A native-resolution grid is not the graph's fixed grid.
	e := engineOf(t, m)
	if _, err := e.EncodeGrid(ctx, make([]float32, 30*40*1536), 30, 40); !errors.Is(err, engine.ErrUnsupportedInput) {
		t.Errorf("native grid: %v, want ErrUnsupportedInput", err)
	}
	// Through the API: an image file at native resolution is refused before
	// the vision graph runs, and the error says what to use instead.
	chat := m.NewChat(vlmrt.WithResize(vlmrt.ResizeNative))
	_, err := chat.SendFunc(ctx, vlmrt.User(vlmrt.ImageFile("../testdata/tiny-a/golden/image1.png"), vlmrt.Text("Describe.")), func(vlmrt.Token) error { return nil })
	if !errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), "--resize plain") || len(chat.Tokens()) != 0 {
		t.Errorf("native image on Core AI: %v (conversation %d tokens), want ErrUnsupportedInput naming --resize plain", err, len(chat.Tokens()))
	}
	// BackendAuto on the same pair stays the CPU engine, which needs portable weights.
	if _, err := vlmrt.Open(ctx, root); err == nil {
		t.Error("BackendAuto opened a Core AI pair without portable weights")
	}
}

func TestCoreAIBackendCancelAndClose(t *testing.T) {
	m, _, _ := openCoreAI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chat := m.NewChat(vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: 50}))
	n := 0
	var gotErr error
	for _, err := range chat.Send(ctx, vlmrt.User(vlmrt.Text("Count."))) {
		if err != nil {
			gotErr = err
			break
		}
		n++
		if n == 2 {
			cancel()
		}
	}
	if !errors.Is(gotErr, vlmrt.ErrCancelled) || n != 2 {
		t.Errorf("cancelled after 2 tokens: got %d tokens, error %v; want ErrCancelled", n, gotErr)
	}
	// The partial reply stays and the chat continues.
	if _, err := chat.SendFunc(context.Background(), vlmrt.User(vlmrt.Text("Go on.")), func(vlmrt.Token) error { return nil }); err != nil {
		t.Errorf("turn after cancellation: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.SendFunc(context.Background(), vlmrt.User(vlmrt.Text("Still there?")), func(vlmrt.Token) error { return nil }); !errors.Is(err, vlmrt.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// copyDir copies the directory tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// copyOne copies one file.
func copyOne(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err == nil {
		err = os.WriteFile(dst, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}
