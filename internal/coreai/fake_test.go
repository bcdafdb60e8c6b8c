//go:build (darwin || linux) && (amd64 || arm64)

package coreai

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

// buildFake compiles fake/fake_bridge.c into a shared library in a fresh
// temporary directory (a fresh library: its global state — call log,
// injected failures — belongs to one test). defines are extra -D flags.
func buildFake(t *testing.T, defines ...string) string {
	t.Helper()
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	ccPath, err := exec.LookPath(cc)
	if err != nil {
		t.Fatalf("the coreai tests build a fake bridge library from fake/fake_bridge.c with a C compiler, and %q is not installed: "+
			"install gcc (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install) or point $CC at one", cc)
	}
	out := filepath.Join(t.TempDir(), LibraryName())
	args := append([]string{"-shared", "-fPIC", "-O1", "-ffp-contract=off", "-Wall", "-Werror", "-Ibridge"}, defines...)
	args = append(args, filepath.Join("fake", "fake_bridge.c"), "-o", out, "-lpthread")
	if b, err := exec.Command(ccPath, args...).CombinedOutput(); err != nil {
		t.Fatalf("building the fake bridge: %s %s: %v\n%s", ccPath, strings.Join(args, " "), err, b)
	}
	return out
}

// fake is a loaded fake bridge with its test hooks.
type fake struct {
	t    *testing.T
	path string
	b    *bridge

	fail          func(fn string, status int32, msg string)
	calls         func(buf *byte, n uintptr) uintptr
	setOpenDelay  func(ms int32)
	setMaxContext func(n int32)
	live          func() int32
}

func newFake(t *testing.T) *fake {
	t.Helper()
	path := buildFake(t)
	b, err := loadBridge(path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{t: t, path: path, b: b}
	for name, fptr := range map[string]any{
		"vlmrt_fake_fail":              &f.fail,
		"vlmrt_fake_calls":             &f.calls,
		"vlmrt_fake_set_open_delay_ms": &f.setOpenDelay,
		"vlmrt_fake_set_max_context":   &f.setMaxContext,
		"vlmrt_fake_live_handles":      &f.live,
	} {
		addr, err := purego.Dlsym(b.lib, name)
		if err != nil {
			t.Fatalf("fake hook %s: %v", name, err)
		}
		purego.RegisterFunc(fptr, addr)
	}
	return f
}

// log returns the fake's call log, one line per ABI call.
func (f *fake) log() []string {
	buf := make([]byte, 1<<16)
	n := f.calls(&buf[0], uintptr(len(buf)))
	if int(n) >= len(buf) {
		f.t.Fatalf("fake call log truncated (%d bytes)", n)
	}
	s := strings.TrimSuffix(cString(buf), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// bundles makes a decoder and a vision bundle directory (the fake only
// checks that they are directories).
func bundles(t *testing.T) (decoder, vision string) {
	dir := t.TempDir()
	decoder, vision = filepath.Join(dir, "decoder"), filepath.Join(dir, "vision")
	for _, d := range []string{decoder, vision} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return decoder, vision
}

// open opens a session with both bundles (or text-only) and closes it at
// the end of the test.
func (f *fake) open(withVision bool) *Session {
	f.t.Helper()
	dec, vis := bundles(f.t)
	if !withVision {
		vis = ""
	}
	s, err := f.b.openSession(context.Background(), dec, vis)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = s.Close() })
	return s
}

// The fake's sizes (fake/fake_bridge.c).
const (
	fakeVocab     = 1000
	fakeHidden    = 8
	fakeSlots     = 196
	fakeSide      = 14
	fakeDeepstack = 3
	fakePatches   = 784
	fakePatchDim  = 1536
	fakeMaxCtx    = 1024
)

// toy re-computes the fake's toy model (fake/fake_bridge.c) so the tests
// can check every logit exactly: logits[i] = e + r/2 + i/4 + hist/8 with
// r = t + 2h + 4w. All values are small dyadic rationals: float32 is exact.
type toy struct{ hist float32 }

func (m *toy) step(e float32, thw [3]int32) []float32 {
	r := float32(thw[0] + 2*thw[1] + 4*thw[2])
	out := make([]float32, fakeVocab)
	for i := range out {
		out[i] = e + 0.5*r + 0.25*float32(i) + 0.125*m.hist
	}
	m.hist += e
	return out
}

// textE is the fake's embedding value of a text id.
func textE(id int32) float32 { return float32(id % 97) }
