package gpu

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// pushTypes maps each kernel to the Go struct its push constants are
// packed from.
var pushTypes = map[string]any{
	"embed": embedPush{}, "norm": normPush{}, "rope": ropePush{}, "matmul": matmulPush{},
	"kvstore": kvstorePush{}, "attention": attentionPush{}, "attention_rows": attentionPush{}, "act": actPush{}, "add": addPush{},
	"argmax": argmaxPush{}, "bandwidth": bandwidthPush{},
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestPushLayouts checks every Go push struct field for field against the
// SPIR-V reflection of its kernel: same names (CamelCase ↔ snake_case), same
// offsets, same size; so a changed GLSL block without the Go side fails here.
func TestPushLayouts(t *testing.T) {
	for _, name := range KernelNames {
		k, err := LoadKernel(name)
		if err != nil {
			t.Fatal(err)
		}
		members, _ := PushLayout(name)
		v, ok := pushTypes[name]
		if !ok {
			t.Fatalf("%s: no Go push struct", name)
		}
		typ := reflect.TypeOf(v)
		if typ.NumField() != len(members) {
			t.Fatalf("%s: Go struct has %d fields, GLSL block %d (%v)", name, typ.NumField(), len(members), members)
		}
		for i, m := range members {
			f := typ.Field(i)
			if snake(f.Name) != m.Name || int(f.Offset) != m.Offset || f.Type.Size() != 4 {
				t.Errorf("%s: field %d is Go %s at %d (%d bytes), GLSL %s at %d", name, i, f.Name, f.Offset, f.Type.Size(), m.Name, m.Offset)
			}
		}
		if got := len(pushBytes(v)); got != k.PushBytes {
			t.Errorf("%s: packs %d bytes, kernel takes %d", name, got, k.PushBytes)
		}
	}
}

// TestKernelDescriptions checks what the Metal side relies on in the
// generated MSL: the entry point, storage buffers at [[buffer(0..n-1)]] in
// binding order, and the push block at [[buffer(n)]].
func TestKernelDescriptions(t *testing.T) {
	for _, name := range KernelNames {
		k, err := LoadKernel(name)
		if err != nil {
			t.Fatal(err)
		}
		if k.Buffers == 0 || len(k.SPIRV)%4 != 0 || k.Spec[0] != "LX" {
			t.Errorf("%s: %d buffers, %d SPIR-V bytes, spec %v", name, k.Buffers, len(k.SPIRV), k.Spec)
		}
		sig := k.MSL[strings.Index(k.MSL, "kernel void "+name+"_main("):]
		sig = sig[:strings.Index(sig, ")\n")]
		for i := 0; i < k.Buffers; i++ {
			if !strings.Contains(sig, "[[buffer("+itoa(i)+")]]") {
				t.Errorf("%s: MSL signature lacks [[buffer(%d)]]: %s", name, i, sig)
			}
		}
		if k.PushBytes > 0 && !strings.Contains(sig, "constant P& p [[buffer("+itoa(k.Buffers)+")]]") {
			t.Errorf("%s: MSL push block not at [[buffer(%d)]]: %s", name, k.Buffers, sig)
		}
		if strings.Count(sig, "[[buffer(") != k.Buffers+min(1, k.PushBytes) {
			t.Errorf("%s: MSL binds %d buffers, want %d", name, strings.Count(sig, "[[buffer("), k.Buffers+min(1, k.PushBytes))
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
