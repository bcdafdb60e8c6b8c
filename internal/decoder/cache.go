package decoder

import (
	"fmt"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/kernels"
)

// Cache is one sequence's state: the keys and values of every layer for the
// tokens run so far, plus the scratch buffers Forward computes in, so a
// steady-state decode step allocates nothing. Storage grows with use
// (doubling) rather than reserving the whole context up front.
// A Cache belongs to one Model and must not be used by two goroutines at once.
type Cache struct {
	// Tracer, when set, receives hidden states (see Tracer); nil costs one
	// check per layer.
	Tracer Tracer
	// Limit caps the tokens the k/v buffers grow to (0: none): growth
	// doubles, and without a cap a cache at 20k tokens of a 32k context
	// would take room for 40k.
	Limit int

	m    *Model
	n    int         // tokens held
	cap  int         // tokens the k/v buffers can hold
	k, v [][]float32 // per layer [cap, kv_heads*head_dim] (float32 cache)
	// k16, v16 replace k, v in a float16 cache (half the memory; keys and
	// values rounded to float16 once, when they are stored).
	k16, v16 [][]uint16
	half     bool

	s scratch
}

// scratch holds per-call buffers sized for the largest batch seen so far.
type scratch struct {
	tokens   int       // batch size the buffers below fit
	x, hn    []float32 // [n, hidden] residual stream, normed input
	q, att   []float32 // [n, heads*head_dim]
	o        []float32 // [n, hidden] projection output
	gate, up []float32 // [n, intermediate]
	cos, sin []float32 // [n, head_dim/2]
	pos      [][3]int32
	scores   []float32 // [context]
	kNew     []float32 // [n, kv_heads*head_dim] new keys before storing (float16 cache)
	vNew     []float32
	attn     kernels.Attention // reused so a decode step allocates nothing
	// attnWork holds the matrix-product attention's buffers (a prefill
	// chunk of at least 32 tokens over a float32 cache; kernels.Attention).
	attnWork kernels.AttentionWork
	// each: the rows are several sequences' single tokens (ForwardBatch),
	// so linear layers run as per-row matrix-vector products.
	each bool
	// act8 and act16 hold a linear layer's input rows quantized to int8 or
	// int16 (Model.SetActs), written by Model.input and read by the layers
	// that share that input.
	act8  kernels.Q8Acts
	act16 kernels.Q16Acts
	// step: the call is a generated token's Step (its layers take the
	// model's activation format).
	step bool
}

// NewCache returns an empty float32 cache for m.
func (m *Model) NewCache() *Cache {
	return &Cache{m: m, k: make([][]float32, len(m.layers)), v: make([][]float32, len(m.layers))}
}

// NewCacheF16 returns an empty cache that stores keys and values as
// float16: half the memory of NewCache (0.14 MB instead of 0.29 MB per token
// for the 4B) for a rounding of each stored value to 11 significant bits.
func (m *Model) NewCacheF16() *Cache {
	return &Cache{m: m, half: true, k16: make([][]uint16, len(m.layers)), v16: make([][]uint16, len(m.layers))}
}

// F16 reports whether the cache stores float16 keys and values.
func (c *Cache) F16() bool { return c.half }

// newKVAt returns where layer li's keys and values for sequence indices
// base..base+n-1 are computed: straight into a float32 cache, or into
// scratch that storeKV then rounds into a float16 cache.
func (c *Cache) newKVAt(li, base, n int) (k, v []float32) {
	kvd := c.m.kvHeads * c.m.headDim
	if c.half {
		return c.s.kNew[:n*kvd], c.s.vNew[:n*kvd]
	}
	return c.k[li][base*kvd : (base+n)*kvd], c.v[li][base*kvd : (base+n)*kvd]
}

// storeKV commits what newKVAt returned (a no-op for a float32 cache).
func (c *Cache) storeKV(li, base int, k, v []float32) {
	if !c.half {
		return
	}
	kvd := c.m.kvHeads * c.m.headDim
	dk, dv := c.k16[li][base*kvd:], c.v16[li][base*kvd:]
	for i := range k {
		dk[i], dv[i] = f16.FromF32(k[i]), f16.FromF32(v[i])
	}
}

// Capacity is the tokens the k/v buffers have room for.
func (c *Cache) Capacity() int { return c.cap }

// Len is the number of tokens in the cache (the next token's sequence index).
func (c *Cache) Len() int { return c.n }

// Truncate drops every token from sequence index n on (rollback, or reuse
// of a shared prefix for a new turn).
func (c *Cache) Truncate(n int) error {
	if n < 0 || n > c.n {
		return fmt.Errorf("decoder: cannot truncate a cache of %d tokens to %d", c.n, n)
	}
	c.n = n
	return nil
}

// reserve makes room for total tokens in the k/v buffers.
func (c *Cache) reserve(total int) {
	if total <= c.cap {
		return
	}
	newCap := max(total, 2*c.cap, 64)
	if c.Limit > 0 {
		newCap = max(total, min(newCap, c.Limit))
	}
	kvd := c.m.kvHeads * c.m.headDim
	for l := range c.m.layers {
		if c.half {
			c.k16[l], c.v16[l] = grow(c.k16[l], c.n*kvd, newCap*kvd), grow(c.v16[l], c.n*kvd, newCap*kvd)
		} else {
			c.k[l], c.v[l] = grow(c.k[l], c.n*kvd, newCap*kvd), grow(c.v[l], c.n*kvd, newCap*kvd)
		}
	}
	c.cap = newCap
	if n := kernels.AttentionScoresLen(c.m.heads, c.m.kvHeads, newCap); len(c.s.scores) < n {
		c.s.scores = make([]float32, n)
	}
}

// prepare sizes the scratch for a batch of n tokens.
func (c *Cache) prepare(n int) {
	if n <= c.s.tokens {
		return
	}
	c.s.alloc(c.m, n, c.half)
}

// alloc sizes the scratch for n rows; withKV adds the buffers new keys and
// values are computed in before they are stored.
func (s *scratch) alloc(m *Model, n int, withKV bool) {
	s.x = make([]float32, n*m.hidden)
	s.hn = make([]float32, n*m.hidden)
	s.o = make([]float32, n*m.hidden)
	s.q = make([]float32, n*m.heads*m.headDim)
	s.att = make([]float32, n*m.heads*m.headDim)
	s.gate = make([]float32, n*m.inter)
	s.up = make([]float32, n*m.inter)
	s.cos = make([]float32, n*m.headDim/2)
	s.sin = make([]float32, n*m.headDim/2)
	s.pos = make([][3]int32, n)
	if withKV {
		s.kNew = make([]float32, n*m.kvHeads*m.headDim)
		s.vNew = make([]float32, n*m.kvHeads*m.headDim)
	}
	s.tokens = n
}

// grow returns a buffer of size n holding the first used values of b.
func grow[T any](b []T, used, n int) []T {
	out := make([]T, n)
	copy(out, b[:used])
	return out
}
