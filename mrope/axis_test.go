package mrope

import (
	"math"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/internal/kernels"
)

func axesString(a []Axis) string {
	var b strings.Builder
	for _, x := range a {
		b.WriteString(strings.ToUpper(x.String()))
	}
	return b.String()
}

// hfAxes follows Hugging Face apply_interleaved_mrope literally: start from
// T everywhere, then overwrite slice(1, 3*sec[1], 3) with H and
// slice(2, 3*sec[2], 3) with W.
func hfAxes(half int, sec []int) []Axis {
	a := make([]Axis, half)
	for j := 1; j < min(3*sec[1], half); j += 3 {
		a[j] = H
	}
	for j := 2; j < min(3*sec[2], half); j += 3 {
		a[j] = W
	}
	return a
}

func TestAxesTable(t *testing.T) {
	for _, c := range []struct {
		sec  []int
		want string
	}{
		{[]int{6, 5, 5}, "THWTHWTHWTHWTHWT"},
		// The real models: frequencies 60..63 stay on T (a plain j%3 rule
		// would give T H W T there).
		{[]int{24, 20, 20}, strings.Repeat("THW", 20) + "TTTT"},
		{[]int{4, 8, 4}, "THWTHWTHWTHWTHTT"},
	} {
		half := c.sec[0] + c.sec[1] + c.sec[2]
		got, err := Axes(half, c.sec)
		if err != nil {
			t.Fatal(err)
		}
		if s := axesString(got); s != c.want {
			t.Errorf("section %v: %s, want %s", c.sec, s, c.want)
		}
		if s := axesString(hfAxes(half, c.sec)); s != c.want {
			t.Errorf("section %v: HF slicing gives %s, want %s", c.sec, s, c.want)
		}
	}
	if _, err := Axes(16, []int{6, 5}); err == nil {
		t.Error("2-entry section accepted")
	}
	if _, err := Axes(16, []int{6, 5, 6}); err == nil || !strings.Contains(err.Error(), "does not split 16") {
		t.Errorf("wrong-sum section: %v", err)
	}
}

func TestRotaryAngles(t *testing.T) {
	r, err := NewRotary(32, 5e6, []int{6, 5, 5})
	if err != nil {
		t.Fatal(err)
	}
	pos := [3]int32{4, 17, 9}
	cos, sin := make([]float32, 16), make([]float32, 16)
	r.CosSin(cos, sin, pos)
	for j := 0; j < 16; j++ {
		p := float64(pos[0])
		if j%3 == 1 && j < 15 {
			p = float64(pos[1])
		} else if j%3 == 2 && j < 15 {
			p = float64(pos[2])
		}
		a := p / math.Pow(5e6, float64(2*j)/32)
		if math.Abs(float64(cos[j])-math.Cos(a)) > 1e-7 || math.Abs(float64(sin[j])-math.Sin(a)) > 1e-7 {
			t.Fatalf("freq %d: cos/sin %v/%v, want %v/%v", j, cos[j], sin[j], math.Cos(a), math.Sin(a))
		}
	}
	if _, err := NewRotary(31, 5e6, []int{6, 5, 5}); err == nil {
		t.Error("odd head_dim accepted")
	}
}

// TestRotaryRelative checks the rotate-half pairing: for text positions the
// score q·k depends only on the distance between the two positions, and a
// rotation keeps the vector's norm.
func TestRotaryRelative(t *testing.T) {
	r, _ := NewRotary(16, 10000, []int{4, 2, 2})
	q0 := []float32{0.3, -1, 2, 0.5, 0.1, 0.7, -0.2, 1.1, 0.9, -0.4, 0.6, 0.05, -1.3, 0.8, 0.25, -0.6}
	k0 := []float32{1, 0.2, -0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 0.12, 0.13, -0.14, 0.15, 0.16}
	score := func(pq, pk int32) float64 {
		q, k := append([]float32(nil), q0...), append([]float32(nil), k0...)
		c, s := make([]float32, 8), make([]float32, 8)
		r.CosSin(c, s, [3]int32{pq, pq, pq})
		kernels.Rotate(q, c, s)
		r.CosSin(c, s, [3]int32{pk, pk, pk})
		kernels.Rotate(k, c, s)
		var d float64
		var nq, n0 float64
		for i := range q {
			d += float64(q[i]) * float64(k[i])
			nq += float64(q[i]) * float64(q[i])
			n0 += float64(q0[i]) * float64(q0[i])
		}
		if math.Abs(nq-n0) > 1e-4 {
			t.Fatalf("rotation changed the norm: %v vs %v", nq, n0)
		}
		return d
	}
	a, b := score(7, 3), score(107, 103)
	if math.Abs(a-b) > 1e-4 {
		t.Errorf("score at distance 4 differs: %v vs %v", a, b)
	}
	if c := score(7, 5); math.Abs(a-c) < 1e-3 {
		t.Errorf("score insensitive to distance: %v vs %v", a, c)
	}
}
