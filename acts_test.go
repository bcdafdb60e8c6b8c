package vlmrt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/kernels"
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

// TestActivations: the default format is int16 where the CPU has its
// kernels (amd64 with AVX2 or AVX-512, not VLMRT_CPU=generic or noasm) and
// float32 elsewhere, and Info.Device says which; an explicit format is
// honoured; an unknown one, or a misspelt flag value, is ErrUnsupportedInput;
// int16 on a GPU backend is refused up front.
func TestActivations(t *testing.T) {
	ctx := context.Background()
	m, err := vlmrt.Open(ctx, modelDir, vlmrt.WithBackend(vlmrt.BackendCPU))
	if err != nil {
		t.Fatal(err)
	}
	dev := m.Info().Device
	m.Close()
	if wantInt16 := kernels.Q8Q16Path() != kernels.PathGeneric; strings.Contains(dev, "int16 activations") != wantInt16 {
		t.Errorf("default Info.Device %q; int16 kernels %q", dev, kernels.Q8Q16Path())
	}
	for _, c := range []struct {
		acts vlmrt.Activations
		want string
	}{{vlmrt.ActivationsFloat32, ""}, {vlmrt.ActivationsInt16, "int16 activations"}, {vlmrt.ActivationsInt8, "int8 activations"}} {
		m, err := vlmrt.Open(ctx, modelDir, vlmrt.WithActivations(c.acts), vlmrt.WithBackend(vlmrt.BackendCPU))
		if err != nil {
			t.Fatal(err)
		}
		dev := m.Info().Device
		resp, err := m.Generate(ctx, vlmrt.Request{Messages: []vlmrt.Message{vlmrt.User(vlmrt.Text("Name a color."))},
			GenerateOptions: vlmrt.GenerateOptions{MaxTokens: 4}})
		m.Close()
		if err != nil || resp == nil {
			t.Fatalf("generate with activations %d: %v", c.acts, err)
		}
		if c.want == "" && strings.Contains(dev, "activations") || c.want != "" && !strings.Contains(dev, c.want) {
			t.Errorf("activations %d: Info.Device %q, want %q", c.acts, dev, c.want)
		}
	}
	if _, err := vlmrt.Open(ctx, modelDir, vlmrt.WithActivations(vlmrt.Activations(99))); !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Errorf("activations 99: %v, want ErrUnsupportedInput", err)
	}
	if _, err := vlmrt.ParseActivations("int4"); !errors.Is(err, vlmrt.ErrUnsupportedInput) {
		t.Errorf("ParseActivations(int4): %v", err)
	}
	for s, want := range map[string]vlmrt.Activations{"": vlmrt.ActivationsAuto, "auto": vlmrt.ActivationsAuto, "f32": vlmrt.ActivationsFloat32,
		"float32": vlmrt.ActivationsFloat32, "int16": vlmrt.ActivationsInt16, "int8": vlmrt.ActivationsInt8} {
		if got, err := vlmrt.ParseActivations(s); err != nil || got != want {
			t.Errorf("ParseActivations(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	_, err = vlmrt.Open(ctx, modelDir, vlmrt.WithActivations(vlmrt.ActivationsInt16), vlmrt.WithBackend(vlmrt.BackendVulkan))
	if !errors.Is(err, vlmrt.ErrUnsupportedInput) || !strings.Contains(err.Error(), "int16 activations") {
		t.Errorf("vulkan with int16 activations: %v, want ErrUnsupportedInput naming int16 activations", err)
	}
}
