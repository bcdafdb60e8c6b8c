package tokenizer

import (
	"container/heap"
	"math"
	"sync"
	"sync/atomic"
)

const noRank = math.MaxUint32

// pairMerge looks up the merge of two adjacent ids: its rank and the merged id.
func (t *Tokenizer) pairMerge(a, b int32) (rank uint32, merged int32, ok bool) {
	v, ok := t.merges[uint64(uint32(a))<<32|uint64(uint32(b))]
	if !ok {
		return noRank, 0, false
	}
	return uint32(v >> 32), int32(uint32(v)), true
}

// shortWordLimit is the length (bytes) up to which bpeWord uses the simple
// array merge loop; longer words use the heap so that a huge word (a long run
// of one letter or of spaces) costs O(n log n), not O(n²).
const shortWordLimit = 64

// bpeWord appends to dst the ids of one pre-token (raw bytes), merging the
// lowest-ranked adjacent pair first (leftmost on ties), as Hugging Face does.
func (t *Tokenizer) bpeWord(dst []int32, word string) []int32 {
	if len(word) > shortWordLimit {
		return t.bpeWordHeap(dst, word)
	}
	// Symbols and the ranks of their right-hand pairs live on the stack.
	var symBuf [shortWordLimit]int32
	var rankBuf [shortWordLimit]uint32
	var mergedBuf [shortWordLimit]int32
	n := len(word)
	syms, ranks, merged := symBuf[:n], rankBuf[:n], mergedBuf[:n]
	for i := 0; i < n; i++ {
		syms[i] = t.byteIDs[word[i]]
	}
	for i := 0; i+1 < n; i++ {
		ranks[i], merged[i], _ = t.pairMerge(syms[i], syms[i+1])
	}
	ranks[n-1] = noRank
	for n > 1 {
		best, bi := uint32(noRank), -1
		for i := 0; i+1 < n; i++ {
			if ranks[i] < best {
				best, bi = ranks[i], i
			}
		}
		if bi < 0 {
			break
		}
		syms[bi] = merged[bi]
		copy(syms[bi+1:n-1], syms[bi+2:n])
		copy(ranks[bi+1:n-1], ranks[bi+2:n])
		copy(merged[bi+1:n-1], merged[bi+2:n])
		n--
		if bi+1 < n {
			ranks[bi], merged[bi], _ = t.pairMerge(syms[bi], syms[bi+1])
		} else {
			ranks[bi] = noRank
		}
		if bi > 0 {
			ranks[bi-1], merged[bi-1], _ = t.pairMerge(syms[bi-1], syms[bi])
		}
	}
	return append(dst, syms[:n]...)
}

// heapSym is one symbol of a long word in a doubly linked list.
type heapSym struct {
	id         int32
	prev, next int32 // -1 at the ends
	dead       bool
}

// pairCand is a candidate merge of symbol at pos with its right neighbour;
// it is stale if either symbol changed since it was pushed.
type pairCand struct {
	rank        uint32
	pos         int32
	left, right int32 // ids at push time, to detect staleness
	merged      int32
}

type candHeap []pairCand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(pairCand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (t *Tokenizer) bpeWordHeap(dst []int32, word string) []int32 {
	n := len(word)
	syms := make([]heapSym, n)
	for i := 0; i < n; i++ {
		syms[i] = heapSym{id: t.byteIDs[word[i]], prev: int32(i - 1), next: int32(i + 1)}
	}
	syms[n-1].next = -1
	h := make(candHeap, 0, n)
	push := func(pos int32) {
		nx := syms[pos].next
		if nx < 0 {
			return
		}
		if r, m, ok := t.pairMerge(syms[pos].id, syms[nx].id); ok {
			heap.Push(&h, pairCand{rank: r, pos: pos, left: syms[pos].id, right: syms[nx].id, merged: m})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i))
	}
	for h.Len() > 0 {
		c := heap.Pop(&h).(pairCand)
		s := &syms[c.pos]
		if s.dead || s.id != c.left || s.next < 0 || syms[s.next].id != c.right {
			continue
		}
		r := &syms[s.next]
		s.id = c.merged
		r.dead = true
		s.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.pos
		}
		if s.prev >= 0 {
			push(s.prev)
		}
		push(c.pos)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		dst = append(dst, syms[i].id)
	}
	return dst
}

// wordCache memoizes pre-token → ids. Lookups are lock-free (sync.Map suits
// a read-mostly cache with disjoint writers); it stops growing at
// maxCachedWords so memory stays bounded on adversarial input.
type wordCache struct {
	m sync.Map // string → []int32
	n atomic.Int64
}

const maxCachedWords = 1 << 17

func newWordCache() *wordCache { return &wordCache{} }

func (c *wordCache) get(w string) ([]int32, bool) {
	v, ok := c.m.Load(w)
	if !ok {
		return nil, false
	}
	return v.([]int32), true
}

func (c *wordCache) put(w string, ids []int32) {
	if c.n.Load() >= maxCachedWords || len(w) > 256 {
		return
	}
	// Clone: w is a substring of the caller's text, which must not be retained.
	if _, loaded := c.m.LoadOrStore(string([]byte(w)), ids); !loaded {
		c.n.Add(1)
	}
}
