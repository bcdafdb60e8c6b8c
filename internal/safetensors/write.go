package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Entry describes one tensor to write. Write must produce exactly
// DType.Size()*product(Shape) bytes; it lets large tensors be streamed
// (quantized or converted on the fly) without holding them in memory.
type Entry struct {
	Name  string
	DType DType
	Shape []int
	Write func(w io.Writer) error
}

// EntryOf wraps an in-memory tensor as an Entry.
func EntryOf(t Tensor) Entry {
	data := t.Data
	return Entry{Name: t.Name, DType: t.DType, Shape: t.Shape, Write: func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}}
}

// WriteFile writes tensors to path atomically (temporary file, fsync, rename).
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	entries := make([]Entry, len(tensors))
	for i, t := range tensors {
		if want := t.DType.Size() * t.NumElements(); want != len(t.Data) || want == 0 && t.DType.Size() == 0 {
			return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, have %d", t.Name, t.Shape, t.DType, want, len(t.Data))
		}
		entries[i] = EntryOf(t)
	}
	return WriteEntries(path, entries, metadata, nil)
}

// WriteEntries streams entries to path atomically. progress, if not nil, is
// called after each tensor with the bytes written so far and the total.
// On any error the temporary file is removed and path is left untouched.
func WriteEntries(path string, entries []Entry, metadata map[string]string, progress func(done, total int64)) (err error) {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	// Lay tensors out in name order so output is deterministic.
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return entries[order[a]].Name < entries[order[b]].Name })
	var offset int64
	for _, i := range order {
		e := entries[i]
		if e.DType.Size() == 0 {
			return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", e.Name, e.DType)
		}
		if _, dup := header[e.Name]; dup || e.Name == "" {
			return fmt.Errorf("safetensors: duplicate or empty tensor name %q", e.Name)
		}
		n := int64(e.DType.Size()) * int64(numElements(e.Shape))
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		header[e.Name] = headerEntry{DType: e.DType, Shape: shape, Offsets: [2]int64{offset, offset + n}}
		offset += n
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: encoding header: %w", err)
	}
	for len(hdr)%8 != 0 { // align the data section, as the reference writer does
		hdr = append(hdr, ' ')
	}

	// Renaming over a directory fails only after the whole file is written,
	// with an error about the temporary file; say what is wrong up front.
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("safetensors: %s is a directory; give the path of the file to write", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	w.Write(lenBuf[:])
	w.Write(hdr)
	var done int64
	for _, i := range order {
		e := entries[i]
		want := int64(e.DType.Size()) * int64(numElements(e.Shape))
		cw := &countWriter{w: w}
		if err := e.Write(cw); err != nil {
			return fmt.Errorf("safetensors: writing tensor %q: %w", e.Name, err)
		}
		if cw.n != want {
			return fmt.Errorf("safetensors: tensor %q: wrote %d bytes, shape %v of %s needs %d", e.Name, cw.n, e.Shape, e.DType, want)
		}
		done += want
		if progress != nil {
			progress(done, offset)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600 files
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// F32Tensor builds an F32 tensor from values (copied into little-endian bytes).
func F32Tensor(name string, shape []int, values []float32) Tensor {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: shape, Data: b}
}

// I32Tensor builds an I32 tensor from values.
func I32Tensor(name string, shape []int, values []int32) Tensor {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return Tensor{Name: name, DType: I32, Shape: shape, Data: b}
}
