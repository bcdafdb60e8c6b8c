package vision

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// TestManifestMatchesLoad: the manifest names exactly the checkpoint's
// model.visual.* tensors with their shapes, and LoadEncoder reads them all
// and nothing else.
func TestManifestMatchesLoad(t *testing.T) {
	ck, err := bundle.OpenCheckpoint("../testdata/tiny-a")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	want := map[string][]int{}
	for _, name := range ck.Tensors.Names() {
		if tn, _ := ck.Tensors.Tensor(name); strings.HasPrefix(name, visualPrefix) {
			want[name] = tn.Shape
		}
	}
	specs := Manifest(ck.Config)
	if len(specs) != len(want) {
		t.Fatalf("manifest has %d tensors, checkpoint %d", len(specs), len(want))
	}
	for _, s := range specs {
		if shape, ok := want[s.Name]; !ok || !slices.Equal(shape, s.Shape) {
			t.Errorf("manifest %s %v: checkpoint has %v (present %v)", s.Name, s.Shape, shape, ok)
		}
	}
	rec := weights.NewRecorder(ck.Tensors)
	if _, err := LoadEncoder(context.Background(), rec, ck.Config); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if !rec.Read[s.Name] {
			t.Errorf("LoadEncoder does not read manifest tensor %s", s.Name)
		}
	}
	if len(rec.Read) != len(specs) {
		t.Errorf("LoadEncoder read %d tensors, the manifest lists %d", len(rec.Read), len(specs))
	}
}
