package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRaw(t *testing.T, header string, body []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.safetensors")
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	b = append(b, body...)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rt.safetensors")
	in := []Tensor{
		F32Tensor("a", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6}),
		I32Tensor("b", []int{2}, []int32{7, -8}),
		{Name: "c", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 3}},
	}
	if err := WriteFile(p, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.Names(), ","); got != "a,b,c" {
		t.Fatalf("names %s", got)
	}
	if f.Metadata()["format"] != "pt" {
		t.Fatal("metadata lost")
	}
	for _, w := range in {
		g, err := f.Tensor(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		if g.DType != w.DType || string(g.Data) != string(w.Data) || len(g.Shape) != len(w.Shape) {
			t.Fatalf("tensor %s differs after round trip", w.Name)
		}
	}
	if _, err := f.Tensor("zzz"); err == nil || !strings.Contains(err.Error(), `"zzz"`) {
		t.Fatalf("missing tensor error should name it: %v", err)
	}
}

func TestMalformedHeaders(t *testing.T) {
	cases := []struct {
		name, header string
		body         []byte
		want         string
	}{
		{"bad json", `{"a":`, nil, "malformed JSON header"},
		{"unknown dtype", `{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, []byte{0}, `tensor "w": unknown dtype "Q4"`},
		{"out of bounds", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4), `tensor "w": data offsets [0, 8) out of bounds`},
		{"shape mismatch", `{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8), `tensor "w": shape [3] of F32 needs 12 bytes but its offsets span 8`},
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12), `overlap`},
		{"negative", `{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, nil, "negative dimension"},
		{"reversed offsets", `{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4), "out of bounds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeRaw(t, c.header, c.body)
			_, err := Open(p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v, want an error naming %s and containing %q", err, p, c.want)
			}
		})
	}
	// header length beyond the file
	p := filepath.Join(t.TempDir(), "len.safetensors")
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b, 1<<40)
	os.WriteFile(p, b, 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "header length") {
		t.Fatalf("bad length: %v", err)
	}
	os.WriteFile(p, []byte{1, 2}, 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("short file: %v", err)
	}
}

func TestWriteRejectsWrongSize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.safetensors")
	err := WriteFile(p, []Tensor{{Name: "x", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, nil)
	if err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("want size error naming the tensor, got %v", err)
	}
	if _, statErr := os.Stat(p); !os.IsNotExist(statErr) {
		t.Fatal("a failed write must leave no file")
	}
}

// TestWriteToDirectory: a directory as the target is refused by name, and
// no temporary file is left beside it.
func TestWriteToDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(dir, []Tensor{F32Tensor("x", []int{1}, []float32{1})}, nil)
	if err == nil || !strings.Contains(err.Error(), dir+" is a directory") {
		t.Fatalf("got %v, want an error saying %s is a directory", err, dir)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}
