package decoder

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/mrope"
)

// A differently shaped model with random weights: untied head, 6 query
// heads on 2 kv heads (groups of 3), head_dim 16 with an M-RoPE section
// whose last frequency falls back to T, an intermediate size that is not a
// multiple of the int8 block, 3 layers and 2 DeepStack features.
func syntheticConfig() *config.Model {
	return &config.Model{
		Text: config.Text{
			HiddenSize: 96, NumLayers: 3, NumHeads: 6, NumKVHeads: 2, HeadDim: 16,
			IntermediateSize: 200, VocabSize: 300, RMSNormEps: 1e-6, RopeTheta: 1e4,
			MaxPositions: 4096, MRopeSection: []int{4, 2, 2}, MRopeInterleaved: true,
		},
		Vision: config.Vision{DeepstackIndexes: []int{1, 3}},
	}
}

// syntheticWeights returns float32 weights for every tensor of cfg.
func syntheticWeights(cfg *config.Model, untied bool, seed uint64) map[string][]float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	t := cfg.Text
	h, qd, kvd := t.HiddenSize, t.NumHeads*t.HeadDim, t.NumKVHeads*t.HeadDim
	w := map[string][]float32{}
	mat := func(name string, rows, cols int) {
		v := make([]float32, rows*cols)
		s := 1.5 / math.Sqrt(float64(cols))
		for i := range v {
			v[i] = float32((r.Float64()*2 - 1) * s)
		}
		w[name] = v
	}
	norm := func(name string, n int) {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(0.5 + r.Float64())
		}
		w[name] = v
	}
	mat(embedName, t.VocabSize, h)
	for i := 0; i < t.NumLayers; i++ {
		n := fmt.Sprintf(layerNameF, i)
		norm(n+"input_layernorm.weight", h)
		norm(n+"post_attention_layernorm.weight", h)
		norm(n+"self_attn.q_norm.weight", t.HeadDim)
		norm(n+"self_attn.k_norm.weight", t.HeadDim)
		mat(n+"self_attn.q_proj.weight", qd, h)
		mat(n+"self_attn.k_proj.weight", kvd, h)
		mat(n+"self_attn.v_proj.weight", kvd, h)
		mat(n+"self_attn.o_proj.weight", h, qd)
		mat(n+"mlp.gate_proj.weight", t.IntermediateSize, h)
		mat(n+"mlp.up_proj.weight", t.IntermediateSize, h)
		mat(n+"mlp.down_proj.weight", h, t.IntermediateSize)
	}
	norm(normName, h)
	if untied {
		mat(headName, t.VocabSize, h)
	}
	return w
}

// shapes of the synthetic tensors, for building a MapSource.
func syntheticSource(cfg *config.Model, w map[string][]float32) weights.MapSource {
	t := cfg.Text
	src := weights.MapSource{}
	for name, v := range w {
		var shape []int
		switch {
		case name == embedName || name == headName:
			shape = []int{t.VocabSize, t.HiddenSize}
		case strings.HasSuffix(name, "norm.weight") && (strings.Contains(name, "q_norm") || strings.Contains(name, "k_norm")):
			shape = []int{t.HeadDim}
		case strings.HasSuffix(name, "layernorm.weight") || name == normName:
			shape = []int{t.HiddenSize}
		default:
			rows, cols := linearShape(t, name)
			shape = []int{rows, cols}
		}
		src[name] = safetensors.F32Tensor(name, shape, v)
	}
	return src
}

func linearShape(t config.Text, name string) (int, int) {
	h, qd, kvd := t.HiddenSize, t.NumHeads*t.HeadDim, t.NumKVHeads*t.HeadDim
	switch {
	case strings.HasSuffix(name, "q_proj.weight"):
		return qd, h
	case strings.HasSuffix(name, "k_proj.weight"), strings.HasSuffix(name, "v_proj.weight"):
		return kvd, h
	case strings.HasSuffix(name, "o_proj.weight"):
		return h, qd
	case strings.HasSuffix(name, "gate_proj.weight"), strings.HasSuffix(name, "up_proj.weight"):
		return t.IntermediateSize, h
	case strings.HasSuffix(name, "down_proj.weight"):
		return h, t.IntermediateSize
	}
	panic("test: unknown linear " + name)
}

// synthetic prompt: 3 text tokens, a 2×3 image, 4 text tokens.
type synthPrompt struct {
	ids       []int32 // with extension ids
	positions [][3]int32
	st        *Static
	delta     int32
}

func syntheticPrompt(t *testing.T, cfg *config.Model, seed uint64) synthPrompt {
	r := rand.New(rand.NewPCG(seed, 11))
	V, h, nds := cfg.Text.VocabSize, cfg.Text.HiddenSize, len(cfg.Vision.DeepstackIndexes)
	const rows, cols, pad = 2, 3, -1
	raw := []int32{5, 17, 42, pad, pad, pad, pad, pad, pad, 250, 3, 99, 7}
	pos, delta, err := mrope.RopeIndex(raw, pad, []mrope.Grid{{Rows: rows, Cols: cols}})
	if err != nil {
		t.Fatal(err)
	}
	ext, first, pads := mrope.ExtensionIDs(raw, pad, V)
	start, amount := mrope.RopeShift(first, pads, rows, cols)
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
		return v
	}
	st := &Static{
		ImageEmbeds: rnd(pads * h), DeepstackEmbeds: rnd(nds * pads * h), Slots: pads, MergedCols: cols,
		RopeShiftStart: start, RopeShiftAmount: amount,
	}
	return synthPrompt{ids: ext, positions: pos, st: st, delta: delta}
}

// refLogits is an independent float64 forward over the whole sequence (no
// cache): the definition of the decoder, for shapes tiny-a does not have.
// quantized applies the int8 rule to the linears and the head.
func refLogits(cfg *config.Model, w map[string][]float32, ids []int32, pos [][3]int32, st *Static, quantized bool) [][]float64 {
	t := cfg.Text
	h, hd, nh, nkv, V := t.HiddenSize, t.HeadDim, t.NumHeads, t.NumKVHeads, t.VocabSize
	eps := t.RMSNormEps
	get := func(name string) []float64 {
		v := w[name]
		if quantized && (strings.HasSuffix(name, "_proj.weight") || name == headName) {
			rows := len(v) / h
			if strings.HasSuffix(name, "o_proj.weight") || strings.HasSuffix(name, "down_proj.weight") {
				rows = h
			}
			m, err := quant.Quantize(v, rows, len(v)/rows)
			if err != nil {
				panic(err)
			}
			v = m.Dequantize()
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	linear := func(wt []float64, x []float64) []float64 {
		cols := len(x)
		y := make([]float64, len(wt)/cols)
		for r := range y {
			for c := 0; c < cols; c++ {
				y[r] += wt[r*cols+c] * x[c]
			}
		}
		return y
	}
	rms := func(x, wt []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(len(x))+eps)
		y := make([]float64, len(x))
		for i := range x {
			y[i] = wt[i] * x[i] * inv
		}
		return y
	}
	// Interleaved axes, written the Hugging Face way (slices over T).
	half := hd / 2
	axis := make([]int, half)
	sec := t.MRopeSection
	for j := 1; j < min(3*sec[1], half); j += 3 {
		axis[j] = 1
	}
	for j := 2; j < min(3*sec[2], half); j += 3 {
		axis[j] = 2
	}
	rope := func(x []float64, p [3]int32) {
		for j := 0; j < half; j++ {
			a := float64(p[axis[j]]) * math.Pow(t.RopeTheta, -2*float64(j)/float64(hd))
			c, s := math.Cos(a), math.Sin(a)
			x1, x2 := x[j], x[j+half]
			x[j], x[j+half] = x1*c-x2*s, x2*c+x1*s
		}
	}
	n := len(ids)
	xs := make([][]float64, n)
	for i, id := range ids {
		xs[i] = make([]float64, h)
		if int(id) < V {
			e := w[embedName][int(id)*h : (int(id)+1)*h]
			for k := range e {
				xs[i][k] = float64(e[k])
			}
		} else {
			slot := int(id) - V
			for k := 0; k < h; k++ {
				xs[i][k] = float64(st.ImageEmbeds[slot*h+k])
			}
		}
	}
	for l := 0; l < t.NumLayers; l++ {
		p := fmt.Sprintf(layerNameF, l)
		wq, wk, wv, wo := get(p+"self_attn.q_proj.weight"), get(p+"self_attn.k_proj.weight"), get(p+"self_attn.v_proj.weight"), get(p+"self_attn.o_proj.weight")
		wg, wu, wd := get(p+"mlp.gate_proj.weight"), get(p+"mlp.up_proj.weight"), get(p+"mlp.down_proj.weight")
		n1, n2 := get(p+"input_layernorm.weight"), get(p+"post_attention_layernorm.weight")
		qn, kn := get(p+"self_attn.q_norm.weight"), get(p+"self_attn.k_norm.weight")
		qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for i := range xs {
			hn := rms(xs[i], n1)
			qs[i], ks[i], vs[i] = linear(wq, hn), linear(wk, hn), linear(wv, hn)
			for hh := 0; hh < nh; hh++ {
				copy(qs[i][hh*hd:], rms(qs[i][hh*hd:(hh+1)*hd], qn))
				rope(qs[i][hh*hd:(hh+1)*hd], pos[i])
			}
			for hh := 0; hh < nkv; hh++ {
				copy(ks[i][hh*hd:], rms(ks[i][hh*hd:(hh+1)*hd], kn))
				rope(ks[i][hh*hd:(hh+1)*hd], pos[i])
			}
		}
		for i := range xs {
			att := make([]float64, nh*hd)
			for hh := 0; hh < nh; hh++ {
				kv := hh / (nh / nkv)
				sc := make([]float64, i+1)
				mx := math.Inf(-1)
				for j := 0; j <= i; j++ {
					for d := 0; d < hd; d++ {
						sc[j] += qs[i][hh*hd+d] * ks[j][kv*hd+d]
					}
					sc[j] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, sc[j])
				}
				var sum float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for j := range sc {
					for d := 0; d < hd; d++ {
						att[hh*hd+d] += sc[j] / sum * vs[j][kv*hd+d]
					}
				}
			}
			o := linear(wo, att)
			for k := range o {
				xs[i][k] += o[k]
			}
			hn := rms(xs[i], n2)
			g, u := linear(wg, hn), linear(wu, hn)
			for k := range g {
				g[k] = g[k] / (1 + math.Exp(-g[k])) * u[k]
			}
			d := linear(wd, g)
			for k := range d {
				xs[i][k] += d[k]
			}
			if id := int(ids[i]); id >= V && l < len(cfg.Vision.DeepstackIndexes) {
				row := l*st.Slots + id - V
				for k := 0; k < h; k++ {
					xs[i][k] += float64(st.DeepstackEmbeds[row*h+k])
				}
			}
		}
	}
	head := headName
	if w[headName] == nil {
		head = embedName
	}
	wh := get(head)
	if quantized && head == embedName {
		m, _ := quant.Quantize(w[embedName], V, h)
		deq := m.Dequantize()
		for i := range wh {
			wh[i] = float64(deq[i])
		}
	}
	out := make([][]float64, n)
	for i := range xs {
		out[i] = linear(wh, rms(xs[i], get(normName)))
	}
	return out
}

func maxAbsDiff(got []float32, want []float64) float64 {
	var m float64
	for i := range want {
		m = max(m, math.Abs(float64(got[i])-want[i]))
	}
	return m
}

func loadSynthetic(t *testing.T, cfg *config.Model, w map[string][]float32, p weights.Precision) *Model {
	t.Helper()
	m, err := Load(context.Background(), syntheticSource(cfg, w), cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSyntheticMatchesReference runs the synthetic model in both precisions,
// tied and untied, S=1 with self-located positions and batched with explicit
// positions, against the float64 reference.
func TestSyntheticMatchesReference(t *testing.T) {
	const tol = 1e-4
	ctx := context.Background()
	for _, untied := range []bool{true, false} {
		cfg := syntheticConfig()
		cfg.TieWordEmbeddings = !untied
		cfg.Text.TieWordEmbeddings = !untied
		w := syntheticWeights(cfg, untied, 1)
		sp := syntheticPrompt(t, cfg, 2)
		for _, p := range []weights.Precision{weights.F32, weights.Int8} {
			name := fmt.Sprintf("%s/untied=%v", p, untied)
			m := loadSynthetic(t, cfg, w, p)
			V := m.Vocab()
			want := refLogits(cfg, w, sp.ids, sp.positions, sp.st, p == weights.Int8)

			// S=1, positions derived in-graph.
			c := m.NewCache()
			logits := make([]float32, V)
			var s1 float64
			for i := range sp.ids {
				if err := m.Forward(ctx, c, sp.ids[i:i+1], nil, sp.st, LastLogits, logits); err != nil {
					t.Fatal(err)
				}
				s1 = max(s1, maxAbsDiff(logits, want[i]))
			}
			// Batched, explicit positions, all rows.
			bc := m.NewCache()
			all := make([]float32, len(sp.ids)*V)
			if err := m.Forward(ctx, bc, sp.ids, sp.positions, sp.st, AllLogits, all); err != nil {
				t.Fatal(err)
			}
			var b float64
			for i := range sp.ids {
				b = max(b, maxAbsDiff(all[i*V:(i+1)*V], want[i]))
			}
			t.Logf("%s: S=1 vs float64 reference max abs %.3g; batched %.3g", name, s1, b)
			if s1 > tol || b > tol {
				t.Errorf("%s: logits off the reference by %.3g (S=1), %.3g (batched) > %g", name, s1, b, tol)
			}

			// Generated tokens continue at index + delta on both caches.
			gen := []int32{12, 200}
			for _, id := range gen {
				p := int32(c.Len()) + sp.delta
				if err := m.Forward(ctx, c, []int32{id}, nil, sp.st, LastLogits, logits); err != nil {
					t.Fatal(err)
				}
				if err := m.Forward(ctx, bc, []int32{id}, [][3]int32{{p, p, p}}, sp.st, LastLogits, all[:V]); err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(logits, toF64(all[:V])); d > tol {
					t.Errorf("%s: generated token: self-located and explicit positions differ by %.3g", name, d)
				}
			}
		}
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestTruncateRollback: rolling back and re-running gives the same logits.
func TestTruncateRollback(t *testing.T) {
	cfg := syntheticConfig()
	w := syntheticWeights(cfg, true, 3)
	sp := syntheticPrompt(t, cfg, 4)
	m := loadSynthetic(t, cfg, w, weights.F32)
	ctx := context.Background()
	c := m.NewCache()
	first := make([]float32, m.Vocab())
	if err := m.Forward(ctx, c, sp.ids, nil, sp.st, LastLogits, first); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate(5); err != nil {
		t.Fatal(err)
	}
	// Different tokens after index 5, then the original ones again.
	if err := m.Forward(ctx, c, []int32{1, 2, 3}, nil, sp.st, NoLogits, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate(5); err != nil {
		t.Fatal(err)
	}
	again := make([]float32, m.Vocab())
	if err := m.Forward(ctx, c, sp.ids[5:], nil, sp.st, LastLogits, again); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(again, toF64(first)); d > 1e-5 {
		t.Errorf("after rollback logits differ by %.3g", d)
	}
	if err := c.Truncate(c.Len() + 1); err == nil {
		t.Error("Truncate beyond Len accepted")
	}
	if err := c.Truncate(-1); err == nil {
		t.Error("Truncate(-1) accepted")
	}
}

// TestDecodeAllocatesNothing: a steady-state single-token Forward allocates
// nothing (scratch and cache storage live in the Cache).
func TestDecodeAllocatesNothing(t *testing.T) {
	cfg := syntheticConfig()
	w := syntheticWeights(cfg, true, 5)
	sp := syntheticPrompt(t, cfg, 6)
	for _, p := range []weights.Precision{weights.F32, weights.Int8} {
		m := loadSynthetic(t, cfg, w, p)
		ctx := context.Background()
		for _, c := range []*Cache{m.NewCache(), m.NewCacheF16()} {
			logits := make([]float32, m.Vocab())
			if err := m.Forward(ctx, c, sp.ids, nil, sp.st, LastLogits, logits); err != nil {
				t.Fatal(err)
			}
			base := c.Len()
			tok := []int32{7}
			allocs := testing.AllocsPerRun(50, func() {
				_ = c.Truncate(base)
				if err := m.Forward(ctx, c, tok, nil, sp.st, LastLogits, logits); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s (f16 cache %v): %v allocations per decode step, want 0", p, c.F16(), allocs)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	cfg := syntheticConfig()
	ctx := context.Background()
	q := fmt.Sprintf(layerNameF, 1) + "self_attn.q_proj.weight"
	up := fmt.Sprintf(layerNameF, 2) + "mlp.up_proj.weight"
	kn := fmt.Sprintf(layerNameF, 0) + "self_attn.k_norm.weight"
	for _, c := range []struct {
		name  string
		edit  func(weights.MapSource)
		tied  bool
		wants []string
	}{
		{"missing linear", func(s weights.MapSource) { delete(s, up) }, false, []string{"missing tensor", up}},
		{"missing norm", func(s weights.MapSource) { delete(s, kn) }, false, []string{"missing tensor", kn}},
		{"missing embedding", func(s weights.MapSource) { delete(s, embedName) }, false, []string{"missing tensor", embedName}},
		{"untied without head", func(s weights.MapSource) { delete(s, headName) }, false, []string{"missing tensor", headName, "not tied"}},
		{"wrong linear shape", func(s weights.MapSource) {
			s[q] = safetensors.F32Tensor(q, []int{96, 80}, make([]float32, 96*80))
		}, false, []string{q, "[96 80]", "[96 96]"}},
		{"wrong norm shape", func(s weights.MapSource) {
			s[kn] = safetensors.F32Tensor(kn, []int{32}, make([]float32, 32))
		}, false, []string{kn, "[32]", "[16]"}},
		{"wrong head shape", func(s weights.MapSource) {
			s[headName] = safetensors.F32Tensor(headName, []int{299, 96}, make([]float32, 299*96))
		}, false, []string{headName, "[299 96]", "[300 96]"}},
	} {
		for _, p := range []weights.Precision{weights.F32, weights.Int8} {
			src := syntheticSource(cfg, syntheticWeights(cfg, true, 9))
			c.edit(src)
			_, err := Load(ctx, src, cfg, p)
			if err == nil {
				t.Errorf("%s/%s: loaded", c.name, p)
				continue
			}
			for _, want := range c.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s/%s: error %q does not mention %q", c.name, p, err, want)
				}
			}
		}
	}
	// A cancelled context stops the load.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Load(cctx, syntheticSource(cfg, syntheticWeights(cfg, true, 9)), cfg, weights.F32); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled load: %v", err)
	}
}

func TestForwardErrors(t *testing.T) {
	cfg := syntheticConfig()
	w := syntheticWeights(cfg, true, 10)
	sp := syntheticPrompt(t, cfg, 11)
	m := loadSynthetic(t, cfg, w, weights.F32)
	other := loadSynthetic(t, cfg, w, weights.F32)
	ctx := context.Background()
	V := m.Vocab()
	logits := make([]float32, 4*V)
	bad := *sp.st
	bad.DeepstackEmbeds = bad.DeepstackEmbeds[:len(bad.DeepstackEmbeds)-1]
	badIE := *sp.st
	badIE.ImageEmbeds = nil
	nonSquare := *sp.st
	nonSquare.MergedCols = 0
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		name string
		run  func(*Cache) error
		want string
	}{
		{"empty", func(c *Cache) error { return m.Forward(ctx, c, nil, nil, nil, NoLogits, nil) }, "no tokens"},
		{"negative id", func(c *Cache) error { return m.Forward(ctx, c, []int32{-1}, nil, nil, NoLogits, nil) }, "id -1 outside"},
		{"image id without image", func(c *Cache) error { return m.Forward(ctx, c, []int32{int32(V)}, nil, nil, NoLogits, nil) }, "id 300 outside [0, vocab 300 + 0 image slots)"},
		{"slot past the image", func(c *Cache) error {
			return m.Forward(ctx, c, []int32{int32(V + 6)}, nil, sp.st, NoLogits, nil)
		}, "id 306 outside [0, vocab 300 + 6 image slots)"},
		{"positions count", func(c *Cache) error {
			return m.Forward(ctx, c, []int32{1, 2}, [][3]int32{{0, 0, 0}}, nil, NoLogits, nil)
		}, "1 positions for 2 tokens"},
		{"deepstack size", func(c *Cache) error { return m.Forward(ctx, c, []int32{1}, nil, &bad, NoLogits, nil) }, "deepstack_embeds has 1151 values, want 2 features × 6 slots × hidden 96 = 1152"},
		{"image embeds size", func(c *Cache) error { return m.Forward(ctx, c, []int32{1}, nil, &badIE, NoLogits, nil) }, "image_embeds has 0 values"},
		{"non-square self-located", func(c *Cache) error { return m.Forward(ctx, c, []int32{1}, nil, &nonSquare, NoLogits, nil) }, "not a square grid"},
		{"short logits", func(c *Cache) error { return m.Forward(ctx, c, []int32{1}, nil, nil, LastLogits, logits[:V-1]) }, "logits buffer holds 299 values, want 300"},
		{"short all logits", func(c *Cache) error {
			return m.Forward(ctx, c, []int32{1, 2, 3, 4, 5}, nil, nil, AllLogits, logits)
		}, "want 5 tokens × 300"},
		{"other model's cache", func(*Cache) error { return m.Forward(ctx, other.NewCache(), []int32{1}, nil, nil, NoLogits, nil) }, "another model"},
		{"cancelled", func(c *Cache) error { return m.Forward(cancelled, c, []int32{1}, nil, nil, NoLogits, nil) }, "context canceled"},
		{"context length", func(c *Cache) error {
			return m.Forward(ctx, c, make([]int32, cfg.Text.MaxPositions+1), nil, nil, NoLogits, nil)
		}, "exceed the context length 4096"},
	} {
		c0 := m.NewCache()
		if err := m.Forward(ctx, c0, []int32{1, 2}, nil, nil, NoLogits, nil); err != nil {
			t.Fatal(err)
		}
		err := c.run(c0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
		if c0.Len() != 2 {
			t.Errorf("%s: failed Forward changed the cache length to %d", c.name, c0.Len())
		}
	}
	// Non-square slots are fine with explicit positions.
	c := m.NewCache()
	if err := m.Forward(ctx, c, sp.ids, sp.positions, &nonSquare, LastLogits, logits); err != nil {
		t.Errorf("explicit positions with a non-square grid: %v", err)
	}
}

// TestConcurrentCaches: one Model serves several sequences at once.
func TestConcurrentCaches(t *testing.T) {
	cfg := syntheticConfig()
	w := syntheticWeights(cfg, true, 12)
	sp := syntheticPrompt(t, cfg, 13)
	m := loadSynthetic(t, cfg, w, weights.Int8)
	want := make([]float32, m.Vocab())
	if err := m.Forward(context.Background(), m.NewCache(), sp.ids, nil, sp.st, LastLogits, want); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			c := m.NewCache()
			got := make([]float32, m.Vocab())
			for i := range sp.ids {
				if err := m.Forward(context.Background(), c, sp.ids[i:i+1], nil, sp.st, LastLogits, got); err != nil {
					errs <- err
					return
				}
			}
			if d := maxAbsDiff(got, toF64(want)); d > 1e-5 {
				errs <- fmt.Errorf("concurrent sequence differs by %.3g", d)
				return
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
