// Package safetensors reads and writes the Hugging Face safetensors format:
// an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data.
//
// Files are memory-mapped where the OS allows it, so a tensor's Data aliases
// the file: no copy of the weights is ever made by this package. Data stays
// valid until the File is closed.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// DType names an element type as the safetensors header spells it.
type DType string

const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the element size in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// Tensor is one named tensor. Data holds len(Shape)-product elements of DType.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of the shape (1 for a scalar).
func (t Tensor) NumElements() int { return numElements(t.Shape) }

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// maxHeaderLen bounds the JSON header: real checkpoints stay far below it, and
// a corrupt length must not make us allocate gigabytes.
const maxHeaderLen = 100 << 20

// File is an open safetensors file.
type File struct {
	path     string
	data     []byte // the whole file (mapped or read)
	unmap    func() error
	tensors  map[string]Tensor
	names    []string
	metadata map[string]string
}

type headerEntry struct {
	DType   DType    `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Open maps path and validates its header. Every malformed header is an
// error naming the file and, where there is one, the tensor.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("safetensors %s is a directory, not a file", path)
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	sf := &File{path: path, data: data, unmap: unmap}
	if err := sf.parse(); err != nil {
		unmap()
		return nil, err
	}
	return sf, nil
}

func (f *File) errorf(format string, args ...any) error {
	return fmt.Errorf("safetensors %s: %s", f.path, fmt.Sprintf(format, args...))
}

func (f *File) parse() error {
	if len(f.data) < 8 {
		return f.errorf("file is %d bytes, too short for the 8-byte header length", len(f.data))
	}
	n := binary.LittleEndian.Uint64(f.data[:8])
	if n > maxHeaderLen || n > uint64(len(f.data)-8) {
		return f.errorf("header length %d exceeds the file (%d bytes) or the %d-byte limit", n, len(f.data), maxHeaderLen)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(f.data[8:8+n], &raw); err != nil {
		return f.errorf("malformed JSON header: %v", err)
	}
	body := f.data[8+n:]
	f.tensors = make(map[string]Tensor, len(raw))
	type span struct {
		name       string
		start, end int64
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.metadata); err != nil {
				return f.errorf("malformed __metadata__ (must map strings to strings): %v", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return f.errorf("tensor %q: malformed header entry: %v", name, err)
		}
		size := e.DType.Size()
		if size == 0 {
			return f.errorf("tensor %q: unknown dtype %q", name, e.DType)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return f.errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
			}
			count *= int64(d)
			if count > int64(len(body)) {
				break // larger than the file; reported just below
			}
		}
		start, end := e.Offsets[0], e.Offsets[1]
		if start < 0 || end < start || end > int64(len(body)) {
			return f.errorf("tensor %q: data offsets [%d, %d) out of bounds of the %d-byte data section", name, start, end, len(body))
		}
		if count*int64(size) != end-start {
			return f.errorf("tensor %q: shape %v of %s needs %d bytes but its offsets span %d", name, e.Shape, e.DType, count*int64(size), end-start)
		}
		f.tensors[name] = Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: body[start:end:end]}
		f.names = append(f.names, name)
		spans = append(spans, span{name, start, end})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return f.errorf("tensors %q and %q overlap (bytes [%d, %d) and [%d, %d))",
				spans[i-1].name, spans[i].name, spans[i-1].start, spans[i-1].end, spans[i].start, spans[i].end)
		}
	}
	sort.Strings(f.names)
	return nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Names returns the tensor names in sorted order.
func (f *File) Names() []string { return f.names }

// Metadata returns the header's __metadata__ map (may be nil).
func (f *File) Metadata() map[string]string { return f.metadata }

// Has reports whether the file holds the named tensor.
func (f *File) Has(name string) bool { _, ok := f.tensors[name]; return ok }

// Tensor returns the named tensor; its Data aliases the mapping.
func (f *File) Tensor(name string) (Tensor, error) {
	t, ok := f.tensors[name]
	if !ok {
		return Tensor{}, f.errorf("no tensor %q", name)
	}
	return t, nil
}

// Release tells the OS the tensor's pages are no longer needed in memory
// (they stay readable: a later access faults them back in from the file).
// Loaders call it after converting a tensor so peak memory stays bounded.
func (f *File) Release(t Tensor) { releasePages(f.data, t.Data) }

// Close unmaps the file. Tensors obtained from it must not be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data, f.tensors = nil, nil, nil
	return err
}
