package vulkan

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

func TestMissingLoaderIsUnavailable(t *testing.T) {
	_, err := loadLibrary([]string{"libvulkan-that-does-not-exist.so.9"})
	if !errors.Is(err, gpu.ErrUnavailable) {
		t.Fatalf("loadLibrary of a missing library: %v, want an ErrUnavailable error", err)
	}
	t.Log(err)
}

func TestOpenErrorIsUnavailable(t *testing.T) {
	// Whatever this machine has, Open either works or fails cleanly.
	d, err := Open(Options{})
	if err != nil {
		if !errors.Is(err, gpu.ErrUnavailable) {
			t.Fatalf("Open: %v, want nil or an ErrUnavailable error", err)
		}
		t.Logf("no Vulkan here: %v", err)
		return
	}
	d.Close()
}

// TestOpenWithoutLoader runs Open and List in a child process whose loader
// is pointed at a missing library: both must fail with ErrUnavailable.
func TestOpenWithoutLoader(t *testing.T) {
	if os.Getenv("VLMRT_VULKAN_TEST_CHILD") == "1" {
		_, err := Open(Options{})
		if !errors.Is(err, gpu.ErrUnavailable) {
			t.Fatalf("Open without a loader: %v, want an ErrUnavailable error", err)
		}
		if _, err := List(); !errors.Is(err, gpu.ErrUnavailable) {
			t.Fatalf("List without a loader: %v, want an ErrUnavailable error", err)
		}
		t.Log(err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenWithoutLoader$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "VLMRT_VULKAN_TEST_CHILD=1", EnvLibrary+"=/nonexistent/libvulkan.so.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func TestOpenBadChoice(t *testing.T) {
	openTest(t, Options{}) // skips without Vulkan
	for _, sel := range []string{"99", "-1", "no-such-gpu"} {
		_, err := Open(Options{Device: sel})
		if !errors.Is(err, gpu.ErrUnavailable) {
			t.Errorf("Open(Device %q): %v, want an ErrUnavailable error", sel, err)
		}
	}
	t.Setenv(EnvDevice, "42")
	if _, err := Open(Options{}); !errors.Is(err, gpu.ErrUnavailable) {
		t.Errorf("Open with %s=42: %v, want an ErrUnavailable error", EnvDevice, err)
	}
}

func TestListAndInfo(t *testing.T) {
	d := openTest(t, Options{})
	ps, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 {
		t.Fatal("List found no device, but Open opened one")
	}
	for _, p := range ps {
		t.Logf("device %d: %+v api %s features %+v unusable %q", p.Index, p.Info, p.APIVersion, p.Features, p.Unusable)
	}
	in := d.Info()
	t.Logf("opened: %+v features %+v", in, d.Features())
	if in.API != "vulkan" || in.Name == "" || in.Type == "" || in.Driver == "" {
		t.Errorf("Info names: %+v", in)
	}
	if in.SubgroupSize < 1 || in.SubgroupSize > 256 || in.SubgroupSize&(in.SubgroupSize-1) != 0 {
		t.Errorf("SubgroupSize %d, want a power of two in 1..256", in.SubgroupSize)
	}
	if in.MaxWorkgroupSize < 128 { // the spec's minimum
		t.Errorf("MaxWorkgroupSize %d < 128", in.MaxWorkgroupSize)
	}
	if in.MaxSharedBytes < 16384 {
		t.Errorf("MaxSharedBytes %d < 16384", in.MaxSharedBytes)
	}
	if in.MaxBufferBytes < 1<<27 {
		t.Errorf("MaxBufferBytes %d < 2^27", in.MaxBufferBytes)
	}
	if in.MemoryBytes <= 0 {
		t.Errorf("MemoryBytes %d", in.MemoryBytes)
	}
	f := d.Features()
	if !f.StorageBuffer16Bit || !f.StorageBuffer8Bit || !f.Int8 {
		t.Errorf("Open returned a device without the required features: %+v", f)
	}

	// Choosing by index and by name finds the same kind of device.
	d2, err := Open(Options{Device: "0"})
	if err != nil {
		t.Logf("device 0: %v", err)
	} else {
		d2.Close()
	}
	d3, err := Open(Options{Device: in.Name[:3]})
	if err != nil {
		t.Errorf("Open by name %q: %v", in.Name[:3], err)
	} else {
		if d3.Info().Name != in.Name && len(ps) == 1 {
			t.Errorf("Open by name gave %q", d3.Info().Name)
		}
		d3.Close()
	}
}

func TestCloseWithLiveObjects(t *testing.T) {
	d := openTest(t, Options{})
	b, err := d.NewBuffer(16)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err == nil {
		t.Fatal("Close with a live buffer succeeded")
	}
	b.Release()
	b.Release()
}
