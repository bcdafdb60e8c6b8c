//go:build (darwin || linux) && (amd64 || arm64)

package coreai

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMissingLibrary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nowhere", LibraryName())
	_, err := loadBridge(path)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), path) {
		t.Fatalf("loadBridge(%s) = %v, want ErrUnavailable naming the path", path, err)
	}

	// The search: nothing exists anywhere → one error listing every place.
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a", LibraryName()), filepath.Join(dir, "b", LibraryName()), "libvlmrt_coreai_nonexistent_for_test.so"}
	_, err = loadFirst(paths, false)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("loadFirst = %v, want ErrUnavailable", err)
	}
	for _, want := range []string{paths[0], paths[1], paths[2] + " (dynamic loader search path)", EnvBridge} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("loadFirst error %q does not mention %q", err, want)
		}
	}

	// $VLMRT_COREAI_BRIDGE set to a missing file: that path and the variable.
	_, err = loadFirst([]string{paths[0]}, true)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), paths[0]) || !strings.Contains(err.Error(), "$"+EnvBridge) {
		t.Fatalf("loadFirst(env) = %v, want ErrUnavailable naming the path and $%s", err, EnvBridge)
	}
}

func TestLoadFirstSkipsMissingAndTakesFirstPresent(t *testing.T) {
	good := buildFake(t)
	missing := filepath.Join(t.TempDir(), LibraryName())
	b, err := loadFirst([]string{missing, good, "libvlmrt_coreai_nonexistent_for_test.so"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if b.path != good {
		t.Fatalf("loaded %s, want %s", b.path, good)
	}
}

func TestLoadMissingSymbol(t *testing.T) {
	path := buildFake(t, "-DFAKE_OMIT_RESET")
	_, err := loadBridge(path)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "lacks vlmrt_coreai_reset") {
		t.Fatalf("loadBridge(fake without reset) = %v, want ErrUnavailable naming vlmrt_coreai_reset", err)
	}
	// A broken library found by the search is reported, not skipped.
	_, err = loadFirst([]string{path, buildFake(t)}, false)
	if err == nil || !strings.Contains(err.Error(), "vlmrt_coreai_reset") {
		t.Fatalf("loadFirst with a broken first candidate = %v, want its missing symbol", err)
	}
}

func TestLoadNotABridge(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "other.c")
	if err := os.WriteFile(src, []byte("int vlmrt_coreai_version(void) { return 1; }\nint unrelated(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, "libother.so")
	if out, err := exec.Command("gcc", "-shared", "-fPIC", src, "-o", lib).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	_, err := loadBridge(lib)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("loadBridge(not a bridge) = %v, want ErrUnavailable", err)
	}
	for _, s := range (&bridge{}).symbols()[1:] {
		if !strings.Contains(err.Error(), s.name) {
			t.Errorf("error %q does not name the missing %s", err, s.name)
		}
	}
	if strings.Contains(err.Error(), "vlmrt_coreai_version,") {
		t.Errorf("error %q names vlmrt_coreai_version, which the library has", err)
	}
}

func TestLoadWrongABIVersion(t *testing.T) {
	_, err := loadBridge(buildFake(t, "-DFAKE_ABI_VERSION=99"))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "ABI version 99") {
		t.Fatalf("loadBridge(ABI 99) = %v, want ErrUnavailable naming version 99", err)
	}
}

func TestCandidates(t *testing.T) {
	paths, fromEnv := candidates("/opt/x/libbridge.dylib", "/app/bin/vlmrt", "darwin")
	if !fromEnv || len(paths) != 1 || paths[0] != "/opt/x/libbridge.dylib" {
		t.Fatalf("with $%s set: %v %v, want only that path", EnvBridge, paths, fromEnv)
	}
	paths, fromEnv = candidates("", "/app/Contents/MacOS/vlmrt", "darwin")
	want := []string{
		"/app/Contents/MacOS/libvlmrt_coreai.dylib",
		"/app/Contents/Frameworks/libvlmrt_coreai.dylib",
		"/app/Contents/lib/libvlmrt_coreai.dylib",
		"/usr/local/lib/libvlmrt_coreai.dylib",
		"/opt/homebrew/lib/libvlmrt_coreai.dylib",
		"libvlmrt_coreai.dylib",
	}
	if fromEnv || strings.Join(paths, "|") != strings.Join(want, "|") {
		t.Fatalf("darwin candidates:\n got %v\nwant %v", paths, want)
	}
	paths, _ = candidates("", "/usr/bin/vlmrt", "linux")
	want = []string{"/usr/bin/libvlmrt_coreai.so", "/usr/lib/libvlmrt_coreai.so", "/usr/local/lib/libvlmrt_coreai.so", "libvlmrt_coreai.so"}
	if strings.Join(paths, "|") != strings.Join(want, "|") {
		t.Fatalf("linux candidates:\n got %v\nwant %v", paths, want)
	}
}

// TestOpenThroughEnv is the only test that uses the process-wide loader
// (it loads once per process).
func TestOpenThroughEnv(t *testing.T) {
	path := buildFake(t)
	t.Setenv(EnvBridge, path)
	dec, vis := bundles(t)
	s, err := Open(context.Background(), dec, vis)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if b, _ := loadDefault(); b == nil || b.path != path {
		t.Fatalf("default bridge %+v, want the one at %s", b, path)
	}
	want := Info{Vocab: fakeVocab, Hidden: fakeHidden, Slots: fakeSlots, Deepstack: fakeDeepstack, MaxContext: fakeMaxCtx,
		Patches: fakePatches, PatchDim: fakePatchDim, GridSide: fakeSide}
	if got := s.Info(); got != want {
		t.Fatalf("Info = %+v, want %+v", got, want)
	}
}
