// Package coreaitest builds the fake Core AI bridge (internal/coreai/fake)
// for tests outside internal/coreai that drive the backend end to end.
package coreaitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// BuildFake compiles fake/fake_bridge.c with gcc ($CC overrides) into a
// shared library under dir and returns its path. defines are extra -D
// flags (such as "-DFAKE_VOCAB_SIZE=151936"). A missing compiler fails the
// test with install instructions.
func BuildFake(t testing.TB, dir string, defines ...string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("coreaitest: cannot locate the fake bridge source")
	}
	root := filepath.Dir(filepath.Dir(self)) // internal/coreai
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	ccPath, err := exec.LookPath(cc)
	if err != nil {
		t.Fatalf("the Core AI backend tests build a fake bridge library from internal/coreai/fake/fake_bridge.c with a C compiler, and %q is not installed: "+
			"install gcc (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install) or point $CC at one", cc)
	}
	out := filepath.Join(dir, "libvlmrt_coreai_fake.so")
	args := append([]string{"-shared", "-fPIC", "-O1", "-ffp-contract=off", "-Wall", "-Werror", "-I" + filepath.Join(root, "bridge")}, defines...)
	args = append(args, filepath.Join(root, "fake", "fake_bridge.c"), "-o", out, "-lpthread")
	if b, err := exec.Command(ccPath, args...).CombinedOutput(); err != nil {
		t.Fatalf("building the fake bridge: %s %s: %v\n%s", ccPath, strings.Join(args, " "), err, b)
	}
	return out
}
