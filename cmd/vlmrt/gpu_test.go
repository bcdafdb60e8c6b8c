package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/vulkan"
)

// TestInspectDevices lists the Vulkan devices as JSON (an empty list when
// the machine has no loader) and as text.
func TestInspectDevices(t *testing.T) {
	out, errOut, code := runCLI(t, "", "inspect", "--devices", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var devs []struct {
		API          string `json:"api"`
		Name         string `json:"name"`
		SubgroupSize int    `json:"subgroup_size"`
		MemoryBytes  int64  `json:"memory_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &devs); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, d := range devs {
		if d.API != "vulkan" || d.Name == "" || d.SubgroupSize <= 0 || d.MemoryBytes <= 0 {
			t.Errorf("implausible device %+v", d)
		}
	}
	text, _, code := runCLI(t, "", "inspect", "--devices")
	if code != 0 || (len(devs) > 0) != strings.Contains(text, "vulkan 0: ") {
		t.Errorf("exit %d, text listing %q for %d devices", code, text, len(devs))
	}
	if _, errOut, code := runCLI(t, "", "inspect", "--devices", tinyA); code != 2 || !strings.Contains(errOut, "--devices") {
		t.Errorf("--devices with a PATH: exit %d, %q", code, errOut)
	}
}

// TestVulkanWithoutLoader: asking for the Vulkan backend where no loader
// can be opened is a one-line error naming what to install, exit 1, no
// output on stdout.
func TestVulkanWithoutLoader(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "run", "--backend", "vulkan", "--model", tinyA, "--prompt", "hi")
	cmd.Dir = "."
	cmd.Env = append(cmd.Environ(), "VLMRT_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "no Vulkan loader") ||
		strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Errorf("err %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// buildBinary builds the vlmrt command once per test into a temporary
// directory (a fresh process: the Vulkan loader is opened once per process).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := t.TempDir() + "/vlmrt"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBenchVulkan: `vlmrt bench --backend vulkan` reports the CPU bench's
// keys, measured on the device (its own bandwidth kernel), plus the
// device's name and the dispatches of one decode step.
func TestBenchVulkan(t *testing.T) {
	if !vulkanPresent(t) {
		return
	}
	stdout, stderr, code := runCLI(t, "", "bench", "--backend", "vulkan", "--shape", "tiny", "--json", "--probe-mib", "16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := checkBenchJSON(t, stdout)
	if m["backend"] != "vulkan" || !strings.HasPrefix(m["device"].(string), "vulkan: ") {
		t.Errorf("backend %v, device %v", m["backend"], m["device"])
	}
	if d, _ := m["dispatches_per_token"].(float64); d < 10 {
		t.Errorf("dispatches_per_token %v", m["dispatches_per_token"])
	}
	if !strings.Contains(stderr, "device read bandwidth") {
		t.Errorf("bandwidth not probed on the device: %s", stderr)
	}
}

// vulkanPresent reports whether a Vulkan device can be opened, skipping the
// test loudly when not.
func vulkanPresent(t *testing.T) bool {
	t.Helper()
	d, err := vulkan.OpenDevice()
	if err != nil {
		t.Skipf("SKIP: no Vulkan device (%v); install mesa-vulkan-drivers libvulkan1 to run the GPU tests", err)
		return false
	}
	d.Close()
	return true
}
