//go:build unix

package metal

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestFakeNoCopyWrapsAMapping wraps a read-only mmap of a file, as the
// weights are wrapped, and copies from it on the (fake) GPU.
func TestFakeNoCopyWrapsAMapping(t *testing.T) {
	f, d := fakeDevice(t)
	page := PageSize()
	path := filepath.Join(t.TempDir(), "weights.bin")
	data := make([]byte, 2*page+100) // not a whole number of pages
	for i := range data {
		data[i] = byte(i % 251)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	whole := 3 * page // the mapping covers the file's last partial page
	mem, err := syscall.Mmap(int(fd.Fd()), 0, whole, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	f.mapping(mem)

	for _, bad := range []struct {
		mem  []byte
		want string
	}{
		{mem[1 : 1+page], "page boundary"},
		{mem[:len(data)], "whole number"},
		{mem[:0], "no memory"},
	} {
		if _, err := d.NewBufferNoCopy(bad.mem); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("NewBufferNoCopy(%d bytes): %v, want %q", len(bad.mem), err, bad.want)
		}
	}
	w, err := d.NewBufferNoCopy(mem)
	if err != nil {
		t.Fatal(err)
	}
	if !w.NoCopy() || w.Len() != whole || &w.Contents()[0] != &mem[0] {
		t.Fatalf("no-copy buffer: NoCopy %v, %d bytes, same memory %v", w.NoCopy(), w.Len(), &w.Contents()[0] == &mem[0])
	}
	// A tensor inside the mapping: the whole pages around it are wrapped.
	f.mapping(mem[page:])
	tensor := mem[page+100 : 2*page+50]
	tb, off, err := d.NewBufferOverMapping(tensor)
	if err != nil {
		t.Fatal(err)
	}
	if off != 100 || tb.Len() != 2*page || &tb.Contents()[off] != &tensor[0] {
		t.Errorf("over-mapping buffer: offset %d, %d bytes, same memory %v; want 100, %d, true", off, tb.Len(), &tb.Contents()[off] == &tensor[0], 2*page)
	}
	tb.Release()
	if _, _, err := d.NewBufferOverMapping(nil); err == nil {
		t.Error("a buffer over nothing was made")
	}

	q, _ := d.NewCommandQueue()
	defer q.Release()
	out, _ := d.NewBuffer(256)
	defer out.Release()
	var c Commands
	c.Copy(out, 0, w, page, 256) // a tensor at an offset inside the mapping
	if _, err := q.Submit(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Contents(), data[page:page+256]) {
		t.Error("the copy from the mapping differs from the file")
	}
	q.Drain()
	w.Release()
	if mem[5] != data[5] {
		t.Error("releasing the buffer touched the mapping")
	}
}
