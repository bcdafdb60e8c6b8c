package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool splits one kernel call's output rows across threads.
//
// Decode calls a few hundred matrix-vector products per token, each a few
// hundred microseconds long, so the per-call cost of handing work to the
// other threads must be tiny: workers are persistent goroutines that spin
// (yielding) for a short while after each job, so back-to-back calls find
// them awake, and only then park on a channel. A call allocates nothing:
// the kernel's arguments live in structs owned by the pool (see tasks), and
// the job is published through an atomic generation counter.

// task is one parallel kernel call: run computes items [lo, hi) using the
// calling thread's scratch slot (0 ≤ slot < threads).
type task interface {
	run(slot, lo, hi int)
}

// spinFor is how long an idle worker keeps polling before it parks. It
// covers the gaps between consecutive matrix products of a decode step
// (norms, rope, attention run on the caller) without burning a core when
// the library is idle. Workers take its value when SetThreads starts them.
var spinFor = 200 * time.Microsecond

type worker struct {
	// parked is g while the worker sleeps waiting for job generation g,
	// else 0. Tying the flag to a generation matters: a caller slow to walk
	// the workers must not wake one that already finished its job and went
	// back to sleep (a stale wake would make it run the job twice).
	parked atomic.Uint64
	wake   chan struct{}
}

type pool struct {
	mu      sync.Mutex // one parallel call at a time; guards the fields below
	threads int        // including the calling goroutine
	workers []*worker
	quit    chan struct{}

	// The current job, written by the caller before gen is bumped and read
	// by workers after they observe the new gen.
	job     task
	total   int
	grain   int
	next    atomic.Int64 // next unclaimed item
	pending atomic.Int32 // workers that have not finished the current gen
	gen     atomic.Uint64

	scratch [][]float32 // per-slot buffers, grown on demand, reused
	tasks   taskArgs    // argument structs, reused under mu
}

var thePool = newPool(runtime.GOMAXPROCS(0))

func newPool(threads int) *pool {
	p := &pool{}
	p.resize(threads)
	return p
}

// SetThreads sets how many threads kernels use (including the caller);
// n ≤ 0 means GOMAXPROCS. It waits for a running kernel call to finish.
func SetThreads(n int) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	thePool.mu.Lock()
	defer thePool.mu.Unlock()
	thePool.resize(n)
}

// Threads reports the number of threads kernels use.
func Threads() int {
	thePool.mu.Lock()
	defer thePool.mu.Unlock()
	return thePool.threads
}

// resize stops the old workers and starts threads-1 new ones; p.mu held (or
// p not yet shared).
func (p *pool) resize(threads int) {
	threads = max(1, threads)
	if p.quit != nil {
		close(p.quit)
	}
	p.threads = threads
	p.workers = p.workers[:0]
	p.quit = make(chan struct{})
	for len(p.scratch) < threads {
		p.scratch = append(p.scratch, nil)
	}
	seen := p.gen.Load()
	for i := 1; i < threads; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w, i, seen, p.quit, spinFor)
	}
}

// acquire takes the pool for one call. It fails instead of waiting when
// another goroutine is using it: that caller then computes inline, which is
// both correct and what two concurrent model calls on two cores want.
func (p *pool) acquire() bool { return p.mu.TryLock() }

func (p *pool) release() { p.mu.Unlock() }

// scratchFor returns slot's buffer with at least n floats; p.mu held.
func (p *pool) scratchFor(slot, n int) []float32 {
	if cap(p.scratch[slot]) < n {
		p.scratch[slot] = make([]float32, n)
	}
	return p.scratch[slot][:n]
}

// run executes t over items [0, total) in chunks of grain across all
// threads and returns when every item is done; p.mu held.
func (p *pool) run(t task, total, grain int) {
	if len(p.workers) == 0 || total <= grain {
		t.run(0, 0, total)
		return
	}
	p.job, p.total, p.grain = t, total, grain
	p.next.Store(0)
	p.pending.Store(int32(len(p.workers)))
	g := p.gen.Add(1)
	for _, w := range p.workers {
		if w.parked.CompareAndSwap(g, 0) {
			w.wake <- struct{}{}
		}
	}
	p.work(0)
	for p.pending.Load() != 0 {
		runtime.Gosched()
	}
	p.job = nil
}

// work claims and runs chunks of the current job until none are left.
func (p *pool) work(slot int) {
	for {
		lo := int(p.next.Add(int64(p.grain))) - p.grain
		if lo >= p.total {
			return
		}
		p.job.run(slot, lo, min(lo+p.grain, p.total))
	}
}

func (p *pool) loop(w *worker, slot int, seen uint64, quit chan struct{}, spin time.Duration) {
	for {
		start := time.Now()
		for spins := 0; p.gen.Load() == seen; spins++ {
			if spins&63 == 63 && time.Since(start) > spin {
				w.parked.Store(seen + 1)
				if p.gen.Load() != seen && w.parked.CompareAndSwap(seen+1, 0) {
					break // a job arrived before anyone saw us asleep
				}
				select {
				case <-w.wake:
				case <-quit:
					return
				}
				break
			}
			runtime.Gosched()
		}
		select {
		case <-quit:
			return
		default:
		}
		seen = p.gen.Load()
		p.work(slot)
		p.pending.Add(-1)
	}
}
