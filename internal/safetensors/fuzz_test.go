package safetensors

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the header and layout parser: it must
// return an error or a file whose every tensor lies inside the data, with
// the size its dtype and shape say — never panic.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../testdata/tiny-a/golden/quant_samples.safetensors", "../../testdata/tiny-a/golden/more/patches.safetensors"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 1<<16)])
		}
	}
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{}}        "))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf := &File{path: "fuzz", data: data}
		if err := sf.parse(); err != nil {
			return
		}
		for _, name := range sf.Names() {
			tt, err := sf.Tensor(name)
			if err != nil {
				t.Fatalf("listed tensor %q: %v", name, err)
			}
			if len(tt.Data) != tt.NumElements()*tt.DType.Size() {
				t.Fatalf("tensor %q: %d bytes for %v %v", name, len(tt.Data), tt.DType, tt.Shape)
			}
		}
	})
}
