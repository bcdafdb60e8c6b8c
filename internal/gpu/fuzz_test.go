package gpu

import (
	"io/fs"
	"testing"

	"github.com/vlmrt/vlmrt/internal/gpu/shaders"
)

// FuzzKernelReflection feeds arbitrary reflection JSON to the kernel
// description loader (the device-independent half of loading the GPU
// engine): it must refuse what it cannot bind with an error, never panic
// or allocate without bound, and what it accepts must be bindable.
func FuzzKernelReflection(f *testing.F) {
	for _, name := range KernelNames {
		js, err := fs.ReadFile(shaders.FS, "reflect/"+name+".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	f.Add([]byte(`{"specialization_constants":[{"name":"LX","id":-1}]}`))
	f.Add([]byte(`{"specialization_constants":[{"name":"LX","id":2000000000}]}`))
	f.Add([]byte(`{"push_constants":[{"type":"_1"}],"types":{"_1":{"members":[{"name":"n","type":"uint","offset":-4}]}}}`))
	spv, err := fs.ReadFile(shaders.FS, "spv/matmul.spv")
	if err != nil {
		f.Fatal(err)
	}
	msl, err := fs.ReadFile(shaders.FS, "msl/matmul.metal")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		k, push, err := parseKernel("matmul", spv, string(msl), js)
		if err != nil {
			return
		}
		if k.Spec[0] != "LX" || len(k.Spec) > maxSpecConstants || k.PushBytes > maxPushBytes || k.Buffers < 0 {
			t.Fatalf("accepted an unbindable kernel: spec %v, %d push bytes, %d buffers", k.Spec, k.PushBytes, k.Buffers)
		}
		for _, m := range push {
			if m.Offset < 0 || m.Offset%4 != 0 || m.Offset+4 > k.PushBytes {
				t.Fatalf("push member %s at offset %d outside the %d-byte block", m.Name, m.Offset, k.PushBytes)
			}
		}
	})
}

// FuzzRowsPerPart checks the split of a matrix or table that is larger
// than the device's largest buffer binding: every part holds at least one
// row, fits the limit (rounded up to a word) whenever one row does, and
// the parts cover the rows exactly.
func FuzzRowsPerPart(f *testing.F) {
	f.Add(uint32(151936), int64(2560), int64(128<<20)) // the 4B head on lavapipe
	f.Add(uint32(9728), int64(10240), int64(0))        // no limit
	f.Add(uint32(3), int64(1<<30), int64(128<<20))     // a row larger than a binding
	f.Add(uint32(1), int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, rows32 uint32, rowBytes, limit int64) {
		rows := int(rows32%(1<<20)) + 1
		if rowBytes < 0 || rowBytes > 1<<40 {
			return
		}
		per := rowsPerPart(rows, rowBytes, limit)
		if per < 1 || per > rows {
			t.Fatalf("%d rows of %d bytes, limit %d: %d rows per part", rows, rowBytes, limit, per)
		}
		if limit > 0 && rowBytes > 0 && rowBytes <= limit-4 && int64(per)*rowBytes > limit-4 {
			t.Fatalf("%d rows of %d bytes per part exceed the limit %d", per, rowBytes, limit)
		}
		if limit <= 0 && per != rows {
			t.Fatalf("no limit, yet %d of %d rows per part", per, rows)
		}
		covered, parts := 0, 0
		for r0 := 0; r0 < rows; r0 += per {
			covered += min(per, rows-r0)
			parts++
		}
		if covered != rows || parts != (rows+per-1)/per {
			t.Fatalf("parts cover %d of %d rows in %d parts", covered, rows, parts)
		}
	})
}
