package kernels

// Attention is causal grouped-query attention for N new query tokens that
// sit at sequence indices Base..Base+N-1 of a KV cache:
//
//	Out[i, h] = Σ_{j ≤ Base+i} softmax_j(Scale · Q[i, h]·K[j, g]) · V[j, g],  g = h / (Heads/KVHeads)
//
// Q and Out are [N, Heads·HeadDim]; the cache rows are [ctx, KVHeads·HeadDim],
// float32 (K, V) or float16 bit patterns (K16, V16) — exactly one pair is set.
// Run splits the (token, head) pairs across the kernel threads: at long
// contexts attention is a large share of a decode step.
type Attention struct {
	Q, Out                       []float32
	K, V                         []float32
	K16, V16                     []uint16
	N, Base, Heads, KVHeads, Dim int
	Scale                        float32
	// Scores is caller-owned scratch of at least Base+N floats, used when
	// the computation runs on the calling goroutine alone.
	Scores []float32
	// Pool splits the (token, head) pairs across its threads (nil: the
	// caller alone).
	Pool *Pool
}

// Run computes Out. It allocates nothing.
func (a *Attention) Run() {
	items := a.N * a.Heads
	p := a.Pool
	if work := items * (a.Base + a.N) * a.Dim; work < parallelMin || !p.acquire() {
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
	t.a.rows(t.pool.scratchFor(slot, t.a.Base+t.a.N), lo, hi)
}

// rows computes the (token, head) items [lo, hi), item = token·Heads + head.
func (a *Attention) rows(scores []float32, lo, hi int) {
	hd, qd, kvd := a.Dim, a.Heads*a.Dim, a.KVHeads*a.Dim
	group := a.Heads / a.KVHeads
	for it := lo; it < hi; it++ {
		i, h := it/a.Heads, it%a.Heads
		ctxLen := a.Base + i + 1
		s := scores[:ctxLen]
		q := a.Q[i*qd+h*hd : i*qd+(h+1)*hd]
		out := a.Out[i*qd+h*hd : i*qd+(h+1)*hd]
		off := (h / group) * hd
		clear(out)
		if a.K16 != nil {
			for j := range s {
				s[j] = DotF16(q, a.K16[j*kvd+off:j*kvd+off+hd]) * a.Scale
			}
			Softmax(s)
			for j, w := range s {
				AxpyF16(out, w, a.V16[j*kvd+off:j*kvd+off+hd])
			}
			continue
		}
		for j := range s {
			s[j] = Dot(q, a.K[j*kvd+off:j*kvd+off+hd]) * a.Scale
		}
		Softmax(s)
		for j, w := range s {
			Axpy(out, w, a.V[j*kvd+off:j*kvd+off+hd])
		}
	}
}
