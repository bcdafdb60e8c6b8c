package gpu

import (
	"encoding/binary"
)

// The push-constant blocks of the kernels, field for field as the GLSL
// declares them (push_test.go checks names and offsets against the SPIR-V
// reflection). All fields are 32-bit, so the layout is the fields in order.

type embedPush struct{ Hidden, Vocab, ImageStride, Row0, Rows, Images, XOff uint32 }

type normPush struct {
	D          uint32
	Eps        float32
	XOff, YOff uint32
}

type ropePush struct {
	HeadDim, RowStride, XOff uint32
	Eps, Scale               float32
	RotOff                   uint32
}

type matmulPush struct {
	Rows, Cols, N, XOff, YOff, YStride, Flags uint32
}

// matmul flags.
const (
	matmulAccumulate = 1 << 0
	matmulBias       = 1 << 1
)

type kvstorePush struct{ KvDim, CacheOff, SrcOff uint32 }

type attentionPush struct {
	HeadDim, Group, KvLen uint32
	Scale                 float32
	QStride, QOff         uint32
	KvStride, KOff, VOff  uint32
	OStride, OOff         uint32
	Rows                  uint32 // query rows (attention_rows bounds its invocations by it)
}

type actPush struct{ Count uint32 }

type addPush struct{ Count, XOff, YOff, Vocab, ImageStride uint32 }

type argmaxPush struct{ Count, XOff uint32 }

type bandwidthPush struct{ Count, PerGroup uint32 }

// pushBytes packs a push struct little-endian (every GPU vlmrt targets is).
func pushBytes(v any) []byte {
	b, err := binary.Append(nil, binary.LittleEndian, v)
	if err != nil {
		// Only the structs above reach here; a non-fixed-size type is a bug
		// caught by push_test.go, never input.
		return nil
	}
	return b
}
