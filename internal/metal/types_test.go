package metal

import (
	"strings"
	"testing"
)

func TestCheckDispatch(t *testing.T) {
	pipe := &Pipeline{id: 1, name: "k", maxThreads: 256, simdWidth: 32}
	buf := fakeBuffer(64)
	one := Size{1, 1, 1}
	ok := []Arg{BufferArg(0, buf), {Index: 1, Buffer: buf, Offset: 60}, BytesArg(2, make([]byte, MaxBytesArg))}
	if err := checkDispatch(pipe, Size{8, 2, 1}, Size{16, 16, 1}, ok); err != nil {
		t.Fatalf("valid dispatch refused: %v", err)
	}
	cases := []struct {
		name            string
		p               *Pipeline
		groups, threads Size
		args            []Arg
		want            string
	}{
		{"nil pipeline", nil, one, one, nil, "pipeline"},
		{"released pipeline", &Pipeline{maxThreads: 256}, one, one, nil, "pipeline"},
		{"zero groups", pipe, Size{0, 1, 1}, one, nil, "threadgroup count"},
		{"zero depth", pipe, one, Size{32, 1, 0}, nil, "threads per threadgroup"},
		{"too many threads", pipe, one, Size{16, 16, 2}, nil, "512 threads"},
		{"negative index", pipe, one, one, []Arg{BufferArg(-1, buf)}, "index -1"},
		{"index past the table", pipe, one, one, []Arg{BufferArg(MaxArgIndex+1, buf)}, "index 31"},
		{"index bound twice", pipe, one, one, []Arg{BufferArg(3, buf), BytesArg(3, []byte{1})}, "bound twice"},
		{"buffer and bytes", pipe, one, one, []Arg{{Index: 0, Buffer: buf, Bytes: []byte{1}}}, "both"},
		{"neither", pipe, one, one, []Arg{{Index: 0}}, "neither"},
		{"empty bytes", pipe, one, one, []Arg{BytesArg(0, []byte{})}, "neither"},
		{"released buffer", pipe, one, one, []Arg{BufferArg(0, &Buffer{})}, "released buffer"},
		{"offset at the end", pipe, one, one, []Arg{{Index: 0, Buffer: buf, Offset: 64}}, "offset 64"},
		{"negative offset", pipe, one, one, []Arg{{Index: 0, Buffer: buf, Offset: -4}}, "offset -4"},
		{"offset on bytes", pipe, one, one, []Arg{{Index: 0, Bytes: []byte{1}, Offset: 4}}, "offset"},
		{"too many bytes", pipe, one, one, []Arg{BytesArg(0, make([]byte, MaxBytesArg+1))}, "4097 inline bytes"},
	}
	for _, c := range cases {
		err := checkDispatch(c.p, c.groups, c.threads, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}

func TestCheckBufferSize(t *testing.T) {
	d := &Device{maxBuffer: 1 << 20}
	for _, bad := range []int{0, -1, 1<<20 + 1} {
		if err := d.checkBufferSize(bad); err == nil {
			t.Errorf("size %d accepted", bad)
		}
	}
	for _, good := range []int{1, 64, 1 << 20} {
		if err := d.checkBufferSize(good); err != nil {
			t.Errorf("size %d refused: %v", good, err)
		}
	}
}

// fakeBuffer is a Buffer as darwin would make it, for checks that never
// reach Metal.
func fakeBuffer(n int) *Buffer { return &Buffer{id: 1, contents: make([]byte, n)} }
