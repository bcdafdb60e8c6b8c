package bundle

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConvertKilled SIGKILLs a conversion (a child process running
// Convert) at several moments: afterwards the output directory holds no
// pair, or a complete pair that resolves — never a half-written bundle
// that loads — and the next Convert cleans up, says so, and succeeds.
func TestConvertKilled(t *testing.T) {
	if out := os.Getenv("VLMRT_CONVERT_CHILD"); out != "" {
		if err := Convert(context.Background(), "../testdata/tiny-a", out, ConvertOptions{}); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	decName, visName, err := BundleNames("../testdata/tiny-a", ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Time a whole conversion first, then kill at fractions of it.
	full := t.TempDir()
	start := time.Now()
	if err := runChild(exe, full, 0); err != nil {
		t.Fatal(err)
	}
	whole := time.Since(start)
	kills, completed := 0, 0
	for _, frac := range []float64{0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97} {
		out := t.TempDir()
		if err := runChild(exe, out, time.Duration(frac*float64(whole))); err == nil {
			completed++
		} else {
			kills++
		}
		if exists(filepath.Join(out, decName)) {
			if _, err := Resolve(filepath.Join(out, decName)); err != nil {
				t.Fatalf("killed at %.0f%%: the decoder bundle is in place but does not resolve: %v", 100*frac, err)
			}
		}
		var notices []string
		err := Convert(context.Background(), "../testdata/tiny-a", out, ConvertOptions{Notice: func(m string) { notices = append(notices, m) }})
		if err != nil && !(exists(filepath.Join(out, decName)) && strings.Contains(err.Error(), "remove it first")) {
			t.Fatalf("killed at %.0f%%: the next conversion: %v", 100*frac, err)
		}
		if _, err := Resolve(filepath.Join(out, decName)); err != nil {
			t.Fatalf("killed at %.0f%%: after the rerun: %v", 100*frac, err)
		}
		if !exists(filepath.Join(out, visName)) {
			t.Fatalf("killed at %.0f%%: no vision bundle after the rerun", 100*frac)
		}
		t.Logf("killed at %3.0f%% of %v: rerun notices %q", 100*frac, whole.Round(time.Millisecond), notices)
	}
	if kills == 0 {
		t.Fatalf("no conversion was killed mid-way (%d completed before the signal)", completed)
	}
}

// runChild runs Convert in a child process into out and SIGKILLs it after
// d (0: let it finish). It returns nil when the child finished cleanly.
func runChild(exe, out string, d time.Duration) error {
	cmd := exec.Command(exe, "-test.run=^TestConvertKilled$")
	cmd.Env = append(os.Environ(), "VLMRT_CONVERT_CHILD="+out)
	if err := cmd.Start(); err != nil {
		return err
	}
	if d > 0 {
		timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
		defer timer.Stop()
	}
	return cmd.Wait()
}

// TestConvertRedoesHalfRenamed: a kill between the two renames leaves the
// vision bundle and the pending marker without a decoder; the next Convert
// removes them, says so, and writes the pair.
func TestConvertRedoesHalfRenamed(t *testing.T) {
	decName, visName, err := BundleNames("../testdata/tiny-a", ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, visName), 0o755)
	os.WriteFile(filepath.Join(out, visName, "metadata.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(out, pendingMarker), []byte(visName+"\n"+decName+"\n"), 0o644)
	var notices []string
	if err := Convert(context.Background(), "../testdata/tiny-a", out, ConvertOptions{Notice: func(m string) { notices = append(notices, m) }}); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "interrupted while moving") {
		t.Fatalf("notices %q", notices)
	}
	if _, err := Resolve(filepath.Join(out, decName)); err != nil || exists(filepath.Join(out, pendingMarker)) {
		t.Fatalf("after the redo: %v (marker left: %v)", err, exists(filepath.Join(out, pendingMarker)))
	}
	// Without the marker, an existing bundle is the user's: refused, untouched.
	os.RemoveAll(filepath.Join(out, decName))
	if err := Convert(context.Background(), "../testdata/tiny-a", out, ConvertOptions{}); err == nil || !strings.Contains(err.Error(), "remove it first") {
		t.Fatalf("existing vision bundle without marker: %v", err)
	}
}
