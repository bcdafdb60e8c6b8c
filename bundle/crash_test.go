package bundle

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

// crashExit is the status of a conversion child killed on purpose.
const crashExit = 97

// crashChild returns a command that re-runs this test binary as a child
// converting ckDir into out, which exits abruptly (no deferred cleanup, as
// in a crash or kill) once part of the weights is written.
func crashChild(t *testing.T, ckDir, out string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), "VLMRT_CRASH_CONVERT_OUT="+out, "VLMRT_CRASH_CONVERT_FROM="+ckDir)
	return cmd
}

// TestCrashChild is the child process of TestConvertCrashLeavesNothingThatLoads;
// run directly it has nothing to do.
func TestCrashChild(t *testing.T) {
	out, from := os.Getenv("VLMRT_CRASH_CONVERT_OUT"), os.Getenv("VLMRT_CRASH_CONVERT_FROM")
	if out == "" {
		return
	}
	err := Convert(context.Background(), from, out, ConvertOptions{Progress: func(done, total int64) {
		if done > total/2 {
			os.Exit(crashExit)
		}
	}})
	t.Fatalf("conversion finished (%v) before the simulated crash", err)
}
