package decoder

import "fmt"

// Cache is one sequence's state: the keys and values of every layer for the
// tokens run so far, plus the scratch buffers Forward computes in, so a
// steady-state decode step allocates nothing. Storage grows with use
// (doubling) rather than reserving the whole context up front.
// A Cache belongs to one Model and must not be used by two goroutines at once.
type Cache struct {
	// Tracer, when set, receives hidden states (see Tracer); nil costs one
	// check per layer.
	Tracer Tracer

	m    *Model
	n    int         // tokens held
	cap  int         // tokens the k/v buffers can hold
	k, v [][]float32 // per layer [cap, kv_heads*head_dim]

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
}

// NewCache returns an empty cache for m.
func (m *Model) NewCache() *Cache {
	return &Cache{m: m, k: make([][]float32, len(m.layers)), v: make([][]float32, len(m.layers))}
}

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
	kvd := c.m.kvHeads * c.m.headDim
	for l := range c.k {
		k := make([]float32, newCap*kvd)
		v := make([]float32, newCap*kvd)
		copy(k, c.k[l][:c.n*kvd])
		copy(v, c.v[l][:c.n*kvd])
		c.k[l], c.v[l] = k, v
	}
	c.cap = newCap
	if len(c.s.scores) < newCap {
		c.s.scores = make([]float32, newCap)
	}
}

// prepare sizes the scratch for a batch of n tokens.
func (c *Cache) prepare(n int) {
	s := &c.s
	if n <= s.tokens {
		return
	}
	m := c.m
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
	s.tokens = n
}
