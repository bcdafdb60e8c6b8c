package decoder

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/bundle"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// TestManifestMatchesLoad: the manifest names exactly the checkpoint's
// decoder tensors with their shapes (the tied head optional), and Load
// reads every one of them and nothing else.
func TestManifestMatchesLoad(t *testing.T) {
	ck, err := bundle.OpenCheckpoint("../../testdata/tiny-a")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	want := map[string][]int{}
	for _, name := range ck.Tensors.Names() {
		if tn, _ := ck.Tensors.Tensor(name); !strings.HasPrefix(name, "model.visual.") {
			want[name] = tn.Shape
		}
	}
	rec := weights.NewRecorder(ck.Tensors)
	if _, err := Load(context.Background(), rec, ck.Config, weights.F32); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range Manifest(ck.Config) {
		shape, ok := want[s.Name]
		switch {
		case !ok && s.Optional:
			continue
		case !ok || !slices.Equal(shape, s.Shape):
			t.Errorf("manifest %s %v: checkpoint has %v (present %v)", s.Name, s.Shape, shape, ok)
		case !rec.Read[s.Name]:
			t.Errorf("Load does not read manifest tensor %s", s.Name)
		}
		n++
	}
	if n != len(want) || len(rec.Read) != len(want) {
		t.Errorf("manifest lists %d of the checkpoint's %d decoder tensors; Load read %d", n, len(want), len(rec.Read))
	}
}
