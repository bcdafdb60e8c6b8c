package f16

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHalfRoundTrip: every finite half survives widen→narrow unchanged.
func TestHalfRoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := FromF32(f); got != uint16(h) {
			t.Fatalf("FromF32(ToF32(%#04x)=%g) = %#04x", h, f, got)
		}
	}
}

// TestFromF32Nearest checks rounding against a brute-force nearest search
// over the sorted halves (ties to even).
func TestFromF32Nearest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		f := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-28)))
		got := FromF32(f)
		gv := float64(ToF32(got))
		// neighbours of the result must not be closer
		for _, n := range []uint16{got + 1, got - 1} {
			nv := float64(ToF32(n))
			if math.IsNaN(nv) || math.IsInf(nv, 0) || (n^got)&0x8000 != 0 && n&0x7fff != 0 {
				continue
			}
			d1, d2 := math.Abs(gv-float64(f)), math.Abs(nv-float64(f))
			if d2 < d1 || d2 == d1 && got&1 == 1 {
				t.Fatalf("FromF32(%g) = %#04x (%g), but %#04x (%g) is nearer or the even tie", f, got, gv, n, nv)
			}
		}
	}
	if FromF32(70000) != 0x7c00 || FromF32(-70000) != 0xfc00 {
		t.Fatal("overflow must give infinity")
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {1.00390625, 0x3f80}, {1.01171875, 0x3f82}, {0, 0}} {
		if got := F32ToBF16(c.f); got != c.want {
			t.Errorf("F32ToBF16(%g) = %#04x want %#04x", c.f, got, c.want)
		}
		if BF16ToF32(c.want) != float32(math.Float32frombits(uint32(c.want)<<16)) {
			t.Error("BF16ToF32")
		}
	}
}
