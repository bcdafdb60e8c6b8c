package devices

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, name := range []string{"vulkan", "metal"} {
		d, err := Lookup(name)
		if err != nil || d.Name != name || d.Open == nil {
			t.Fatalf("Lookup(%q) = %+v, %v", name, d, err)
		}
	}
	_, err := Lookup("cuda")
	if err == nil || !strings.Contains(err.Error(), "cuda") || !strings.Contains(err.Error(), "vulkan, metal") {
		t.Fatalf("Lookup(cuda) error %v: want one naming the request and the choices", err)
	}
}
