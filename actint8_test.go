package vlmrt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt"
)

// TestWithInt8Activations: the opt-in opens on the CPU, says so in
// Info.Device, and generates; a GPU backend refuses it up front.
func TestWithInt8Activations(t *testing.T) {
	ctx := context.Background()
	m, err := vlmrt.Open(ctx, modelDir, vlmrt.WithInt8Activations(), vlmrt.WithBackend(vlmrt.BackendCPU))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if d := m.Info().Device; !strings.Contains(d, "int8 activations") {
		t.Errorf("Info.Device %q does not name the int8 activations", d)
	}
	resp, err := m.NewChat().SendFunc(ctx, vlmrt.User(vlmrt.Text("Name a color.")), func(vlmrt.Token) error { return nil }, vlmrt.WithMaxTokens(4))
	if err != nil || resp == nil {
		t.Fatalf("generate with int8 activations: %v", err)
	}
	_, err = vlmrt.Open(ctx, modelDir, vlmrt.WithInt8Activations(), vlmrt.WithBackend(vlmrt.BackendVulkan))
	if !errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), "int8 activations") {
		t.Errorf("vulkan with int8 activations: %v, want ErrUnsupportedInput naming int8 activations", err)
	}
}
