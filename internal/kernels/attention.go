package kernels

// Attention is multi-head (grouped-query) attention for N query tokens at
// sequence indices Base..Base+N-1 over the keys and values of indices
// 0..Base+N-1 — the one attention op of the decoder and the vision tower:
//
//	Out[i, h] = Σ_{j ∈ seen(i)} softmax_j(Scale · Q[i, h]·K[j, g]) · V[j, g],  g = h / (Heads/KVHeads)
//
// With Causal, token i sees j ≤ Base+i (the decoder); without, every
// j < Base+N (the vision tower's bidirectional attention).
//
// Q and Out rows are [Heads·Dim] and K, V rows [KVHeads·Dim], float32 (K, V)
// or float16 bit patterns (K16, V16) — exactly one pair is set. Rows are
// QStride / KVStride floats apart (0: packed), so Q, K and V may be views
// of one fused qkv buffer. Out is packed.
//
// Two strategies compute it: one (token, head) pair at a time with the dot
// products and the softmax over its own row (decode, and everything
// without Work, split across the pool's threads); and, for float32 input
// with Work set, per head matrix products Q·Kᵀ and P·V over chunks of
// queries, which the pool's GEMM runs: the vision tower's hundreds of
// tokens, and a causal prefill chunk large enough (causalProducts) on
// paths with a GEMM micro-kernel (each chunk's scores then span only the
// keys its last query sees, and each row's softmax only its own).
type Attention struct {
	Q, Out                       []float32
	K, V                         []float32
	K16, V16                     []uint16
	N, Base, Heads, KVHeads, Dim int
	QStride, KVStride            int
	Causal                       bool
	Scale                        float32
	// Scores is caller-owned scratch of at least ScoresLen floats, used
	// when the pair-at-a-time path runs on the calling goroutine alone.
	Scores []float32
	// Work, when set, enables the matrix-product path (float32 input:
	// always when non-causal, for large enough chunks when causal — see
	// causalProducts); it is grown as needed and reused across calls.
	Work *AttentionWork
	// Pool splits the work across its threads (nil: the caller alone).
	Pool *Pool
}

// AttentionWork holds the matrix-product path's buffers: one head's
// queries and keys gathered contiguous, its values transposed, a chunk of
// scores and of outputs.
type AttentionWork struct {
	q, k, vt, scores, out []float32
}

// attentionChunkFloats bounds one score tile (queries × keys) so a large
// dynamic-resolution image does not need an n×n matrix per head (a
// variable so tests can make chunks small).
var attentionChunkFloats = 1 << 20

// A causal attention with Work runs as matrix products from
// causalProductsMin queries and causalProductsPairs (query, seen key)
// pairs per head on: the GEMM computes whole score tiles (including the
// masked corner of each chunk) at several times the pair-at-a-time
// kernels' FLOP rate, but a head costs three pool jobs and a transpose of
// its keys. Measured (BenchmarkAttentionPrefill, the 4B's heads, 2-core
// Zen 5, the two alternating): 0.74× the pair-at-a-time path at 64
// queries from position 0 (2K pairs), 0.89–0.98× at 96 (4.7K), 0.98–1.05×
// at 128 (8.3K), 1.05–1.14× at 32 queries after 200 keys (6.9K), 1.4–2.1×
// at 211 (22K), 3.8× at 512 after 1024 keys.
const (
	causalProductsMin   = 32
	causalProductsPairs = 8192
)

// causalProducts reports whether a causal attention is large enough for
// the matrix products.
func (a *Attention) causalProducts() bool {
	if gemmNR() == 0 || gemmOff || causalForce == causalForceRows {
		return false
	}
	return causalForce == causalForceProducts || a.N >= causalProductsMin && a.N*(2*a.Base+a.N+1)/2 >= causalProductsPairs
}

// Run computes Out. The pair-at-a-time path allocates nothing.
func (a *Attention) Run() {
	if a.Work != nil && a.K != nil && (!a.Causal || a.causalProducts()) {
		a.products()
		return
	}
	items := a.N * a.Heads
	if a.K16 == nil {
		items = a.N * a.KVHeads // a float32 cache: one item per key/value head
	}
	p := a.Pool
	if work := a.N * a.Heads * (a.Base + a.N) * a.Dim; work < parallelMin || !p.acquire() {
		a.rows(a.Scores, 0, items)
		return
	}
	t := &p.tasks.attention
	*t = attentionTask{a: a, pool: p}
	p.run(t, items, 1)
	*t = attentionTask{}
	p.release()
}

type attentionTask struct {
	a    *Attention
	pool *Pool
}

func (t *attentionTask) run(slot, lo, hi int) {
	t.a.rows(t.pool.scratchFor(slot, t.a.ScoresLen()), lo, hi)
}

// ScoresLen is the scratch the pair-at-a-time path needs (AttentionScoresLen).
func (a *Attention) ScoresLen() int { return AttentionScoresLen(a.Heads, a.KVHeads, a.Base+a.N) }

// AttentionScoresLen is the Scores an Attention of heads query heads over
// kvHeads key/value heads needs for ctx positions: the scores of one
// key/value head's query heads over the whole context.
func AttentionScoresLen(heads, kvHeads, ctx int) int { return heads / kvHeads * ctx }

// strides returns the row strides of Q and of K/V.
func (a *Attention) strides() (qs, kvs int) {
	qs, kvs = a.QStride, a.KVStride
	if qs == 0 {
		qs = a.Heads * a.Dim
	}
	if kvs == 0 {
		kvs = a.KVHeads * a.Dim
	}
	return qs, kvs
}

// rows computes items [lo, hi) of the pair-at-a-time path: with a float32
// cache (token, key/value head) pairs, item = token·KVHeads + kvHead, each
// the query heads sharing that key/value head (grouped-query attention);
// with a float16 cache (token, head) pairs, item = token·Heads + head.
func (a *Attention) rows(scores []float32, lo, hi int) {
	if a.K16 == nil {
		a.rowsGrouped(scores, lo, hi)
		return
	}
	hd, od := a.Dim, a.Heads*a.Dim
	qs, kvs := a.strides()
	group := a.Heads / a.KVHeads
	for it := lo; it < hi; it++ {
		i, h := it/a.Heads, it%a.Heads
		s := scores[:a.ctxLen(i)]
		q := a.Q[i*qs+h*hd : i*qs+(h+1)*hd]
		out := a.Out[i*od+h*hd : i*od+(h+1)*hd]
		off := (h / group) * hd
		clear(out)
		for j := range s {
			s[j] = DotF16(q, a.K16[j*kvs+off:j*kvs+off+hd]) * a.Scale
		}
		Softmax(s)
		for j, w := range s {
			AxpyF16(out, w, a.V16[j*kvs+off:j*kvs+off+hd])
		}
	}
}

// ctxLen is how many positions query row i sees.
func (a *Attention) ctxLen(i int) int {
	if a.Causal {
		return a.Base + i + 1
	}
	return a.Base + a.N
}

// attnTile is how many cached positions one pass of rowsGrouped takes:
// their keys (or values), 64 × 512 bytes for 128-float heads, stay in L1
// while each query head of the group reads them, so every key and value
// comes from memory once per group instead of once per query head.
const attnTile = 64

// rowsGrouped is rows over a float32 cache, a key/value head's query heads
// together (scores holds one row of scores per query head of the group).
func (a *Attention) rowsGrouped(scores []float32, lo, hi int) {
	hd, od := a.Dim, a.Heads*a.Dim
	qs, kvs := a.strides()
	group := a.Heads / a.KVHeads
	for it := lo; it < hi; it++ {
		i, kh := it/a.KVHeads, it%a.KVHeads
		n := a.ctxLen(i)
		k, v := a.K[kh*hd:], a.V[kh*hd:]
		q := func(g int) []float32 { h := kh*group + g; return a.Q[i*qs+h*hd : i*qs+(h+1)*hd] }
		out := func(g int) []float32 { h := kh*group + g; return a.Out[i*od+h*hd : i*od+(h+1)*hd] }
		s := func(g, t0, t1 int) []float32 { return scores[g*n+t0 : g*n+t1] }
		for t0 := 0; t0 < n; t0 += attnTile {
			t1 := min(t0+attnTile, n)
			for g := range group {
				attnScores(s(g, t0, t1), q(g), k[t0*kvs:], kvs, hd, a.Scale)
			}
		}
		for g := range group {
			Softmax(s(g, 0, n))
			clear(out(g))
		}
		for t0 := 0; t0 < n; t0 += attnTile {
			t1 := min(t0+attnTile, n)
			for g := range group {
				attnValues(out(g), s(g, t0, t1), v[t0*kvs:], kvs, hd)
			}
		}
	}
}

// causalForce overrides causalProducts for the benchmarks' A/B
// comparison (causalAuto, causalForceRows, causalForceProducts; set only
// while no attention runs).
var causalForce int

const (
	causalAuto = iota
	causalForceRows
	causalForceProducts
)

// products is the matrix-product path (non-causal, or causal on a GEMM
// path only: the fallback below has no mask): per head, scores = Q·Kᵀ (K as the
// weight matrix) for a chunk of queries, softmax per row, and Out = P·V
// (Vᵀ as the weight matrix). Scale multiplies the scores before the
// softmax (1 skips the pass: the vision tower folds it into Q).
func (a *Attention) products() {
	n, ctx, hd, od := a.N, a.Base+a.N, a.Dim, a.Heads*a.Dim
	qs, kvs := a.strides()
	group := a.Heads / a.KVHeads
	w := a.Work
	chunk := min(n, max(64, attentionChunkFloats/ctx))
	if gemmNR() > 0 && !gemmOff {
		a.productsT(chunk)
		return
	}
	w.q = growF32(w.q, n*hd)
	w.k = growF32(w.k, ctx*hd)
	w.vt = growF32(w.vt, hd*ctx)
	w.scores = growF32(w.scores, chunk*ctx)
	w.out = growF32(w.out, chunk*hd)
	for h := 0; h < a.Heads; h++ {
		off := (h / group) * hd
		for i := 0; i < n; i++ {
			copy(w.q[i*hd:(i+1)*hd], a.Q[i*qs+h*hd:i*qs+(h+1)*hd])
		}
		if h%group == 0 { // a new key/value head
			for j := 0; j < ctx; j++ {
				copy(w.k[j*hd:(j+1)*hd], a.K[j*kvs+off:j*kvs+off+hd])
				for d, v := range a.V[j*kvs+off : j*kvs+off+hd] {
					w.vt[d*ctx+j] = v
				}
			}
		}
		for c0 := 0; c0 < n; c0 += chunk {
			c := min(chunk, n-c0)
			sc := w.scores[:c*ctx]
			a.Pool.MatMulF32(sc, w.k[:ctx*hd], ctx, hd, w.q[c0*hd:(c0+c)*hd], c)
			a.Pool.softmaxRows(sc, ctx, a.Scale)
			o := w.out[:c*hd]
			a.Pool.MatMulF32(o, w.vt[:hd*ctx], hd, ctx, sc, c)
			for i := 0; i < c; i++ {
				copy(a.Out[(c0+i)*od+h*hd:(c0+i)*od+(h+1)*hd], o[i*hd:(i+1)*hd])
			}
		}
	}
}

// productsT is products on the packed product without transposes: per
// head, S = Q·Kᵀ with the queries (read in place) as the weight rows and
// Kᵀ as the transposed X, softmax over S's rows, then Out = P·V with P's
// rows as the weight rows and V (in place) as the transposed X. Causal: a
// chunk of queries c0..c0+c-1 takes the keys up to its last query's
// (Base+c0+c of them), and row r's softmax covers its first Base+c0+r+1
// scores and zeroes the rest, so P·V adds nothing from unseen keys.
func (a *Attention) productsT(chunk int) {
	n, ctx, hd, od := a.N, a.Base+a.N, a.Dim, a.Heads*a.Dim
	qs, kvs := a.strides()
	group := a.Heads / a.KVHeads
	w := a.Work
	w.k = growF32(w.k, hd*ctx) // Kᵀ of the current key/value head
	w.scores = growF32(w.scores, chunk*ctx)
	for h := 0; h < a.Heads; h++ {
		off := (h / group) * hd
		if h%group == 0 {
			transposeF32(w.k, ctx, a.K[off:], kvs, ctx, hd)
		}
		for c0 := 0; c0 < n; c0 += chunk {
			c := min(chunk, n-c0)
			keys := ctx
			if a.Causal {
				keys = a.Base + c0 + c
			}
			sc := w.scores[:c*keys]
			a.Pool.matMulT(sc, keys, a.Q[c0*qs+h*hd:], qs, c, hd, w.k, ctx, keys)
			if a.Causal {
				a.Pool.causalSoftmaxRows(sc, keys, a.Scale, a.Base+c0)
			} else {
				a.Pool.softmaxRows(sc, keys, a.Scale)
			}
			a.Pool.matMulT(a.Out[c0*od+h*hd:], od, sc, keys, c, keys, a.V[off:], kvs, hd)
		}
	}
}

// growF32 returns b resized to n floats, reallocating only to grow.
func growF32(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Rotate applies rotary position embedding to one head x in place, in the
// rotate-half layout (element j pairs with j + len(x)/2 and both use angle
// j): x·cos + rotate_half(x)·sin. cos and sin hold len(x)/2 angles. The one
// rotary op of the decoder (M-RoPE) and the vision tower (2-D RoPE): the
// models differ only in how they form the angles.
func Rotate(x, cos, sin []float32) {
	half := len(x) / 2
	lo, hi := x[:half], x[half:2*half]
	cos, sin = cos[:half], sin[:half]
	for j := range lo {
		a, b := lo[j], hi[j]
		lo[j] = a*cos[j] - b*sin[j]
		hi[j] = b*cos[j] + a*sin[j]
	}
}
