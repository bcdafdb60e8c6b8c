package kernels

import (
	"runtime"

	"github.com/vlmrt/vlmrt/internal/quant"
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
// the library is idle. Workers take its value when a pool starts them.
var spinFor = 200 * time.Microsecond

type worker struct {
	// parked is g while the worker sleeps waiting for job generation g,
	// else 0. Tying the flag to a generation matters: a caller slow to walk
	// the workers must not wake one that already finished its job and went
	// back to sleep (a stale wake would make it run the job twice).
	parked atomic.Uint64
	wake   chan struct{}
}

// Pool is a set of worker threads the parallel kernels split their work
// across. A loaded model owns one (sized by its thread setting), so two
// models never fight over one pool and closing a model stops its threads.
//
// Workers start on the first parallel call (none run at import or while a
// model is idle-loaded) and stop on Close. Calls from several goroutines
// (concurrent chats on one model) take the pool in turn, each call using
// every thread: a call waits for the running one (a few hundred
// microseconds at most) instead of falling back to one thread. Go's mutex
// hands the lock to a waiter that has waited over a millisecond, so no
// caller starves.
//
// A nil *Pool is valid: every kernel then runs on the calling goroutine.
type Pool struct {
	mu      sync.Mutex // one parallel call at a time; guards the fields below
	threads int        // including the calling goroutine
	started bool       // workers running
	closed  bool
	workers []*worker
	quit    chan struct{}

	// The current job, written by the caller before gen is bumped and read
	// by workers after they observe the new gen.
	job     task
	total   int
	grain   int
	guided  bool         // chunks of 1/threads of what is left (runRows)
	next    atomic.Int64 // next unclaimed item
	pending atomic.Int32 // workers that have not finished the current gen
	gen     atomic.Uint64

	scratch [][]float32 // per-slot buffers, grown on demand, reused
	tasks   taskArgs    // argument structs, reused under mu
	each    matVecEachTask

	parallel atomic.Int64 // calls split across the workers (see ParallelCalls)
}

// NewPool returns a pool of threads threads including the caller (≤ 0:
// GOMAXPROCS). It starts no goroutine until the first parallel call.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Pool{threads: threads, scratch: make([][]float32, threads)}
}

// Threads reports how many threads the pool's calls use (1 for nil).
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// ParallelCalls counts the kernel calls the pool split across its workers
// (work accounting for tests and benchmarks: a call that ran on its caller
// alone does not count).
func (p *Pool) ParallelCalls() int64 {
	if p == nil {
		return 0
	}
	return p.parallel.Load()
}

// Close stops the workers, waiting for a running call to finish. Later
// calls run on their caller alone. Close is idempotent.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		close(p.quit)
	}
	p.closed, p.started, p.workers = true, false, nil
}

// start launches threads-1 workers; p.mu held.
func (p *Pool) start() {
	p.quit = make(chan struct{})
	seen := p.gen.Load()
	for i := 1; i < p.threads; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w, i, seen, p.quit, spinFor)
	}
	p.started = true
}

// acquire takes the pool for one call, waiting for a running one; false
// means run on the caller alone with no pool scratch (a nil pool).
func (p *Pool) acquire() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	if !p.started && !p.closed && p.threads > 1 {
		p.start()
	}
	return true
}

func (p *Pool) release() { p.mu.Unlock() }

// MatVecQ8Each computes n matrix-vector products y[b] = deq(W)·x[b] (x
// [n, w.Cols], y [n, w.Rows]) in one pass over W, each output exactly
// (bit for bit) as MatVecQ8 computes it for x[b] alone. It is the decode
// step of several sequences at once: each weight block is read from memory
// once and widened to float32 once for all n vectors, so n sequences cost
// far less than n steps (see matVecQ8EachRows).
func (p *Pool) MatVecQ8Each(y []float32, w *quant.Matrix, x []float32, n int) {
	checkQ8(y, w, x, n)
	if n == 0 {
		return
	}
	t := matVecEachTask{y: y, w: w, x: x, n: n}
	if w.Rows*w.Cols < parallelMin || !p.acquire() {
		t.run(0, 0, w.Rows)
		return
	}
	p.each = t
	p.runRows(&p.each, w.Rows, w.Cols)
	p.each = matVecEachTask{}
	p.release()
}

type matVecEachTask struct {
	y []float32
	w *quant.Matrix
	x []float32
	n int
}

func (t *matVecEachTask) run(_, lo, hi int) { matVecQ8EachRows(t.y, t.w, t.x, t.n, lo, hi) }

// scratchFor returns slot's buffer with at least n floats; p.mu held.
func (p *Pool) scratchFor(slot, n int) []float32 {
	if cap(p.scratch[slot]) < n {
		p.scratch[slot] = make([]float32, n)
	}
	return p.scratch[slot][:n]
}

// run executes t over items [0, total) in chunks of grain across all
// threads and returns when every item is done; p.mu held.
func (p *Pool) run(t task, total, grain int) {
	if len(p.workers) == 0 || total <= grain {
		t.run(0, 0, total)
		return
	}
	p.parallel.Add(1)
	p.job, p.total, p.grain = t, total, grain
	p.next.Store(0)
	p.pending.Store(int32(len(p.workers)))
	g := p.gen.Add(1)
	p.wakeParked(g)
	p.work(0)
	for spins := 1; p.pending.Load() != 0; spins++ {
		// Walk the workers again now and then: one whose parking became
		// visible only after the walk above is woken here. Go's atomics
		// forbid that order; a test hung this way once under qemu's arm64
		// emulation on an x86 host (make test-arm64), most likely a
		// worker's store of parked passing its load of gen there — the
		// cause is inferred, not proven. parked == g means the worker has
		// not run job g, so the wake is never stale.
		if spins&1023 == 0 {
			p.wakeParked(g)
		}
		runtime.Gosched()
	}
	p.job = nil
}

// wakeParked wakes the workers asleep waiting for job generation g.
func (p *Pool) wakeParked(g uint64) {
	for _, w := range p.workers {
		if w.parked.CompareAndSwap(g, 0) {
			w.wake <- struct{}{}
		}
	}
}

// runRows executes t over the rows [0, total) of a matrix-vector product
// (rowBytes of weights each) across all threads, in guided chunks: a
// thread claims 1/threads of the rows still unclaimed (at least
// rowChunk(rowBytes)), so the first claims are long contiguous runs (each
// chunk boundary restarts the prefetchers) and the last ones small, and a
// thread slowed by another process leaves little for the others to wait
// on. p.mu held.
//
// Fixed chunks of a quarter of each thread's share left the faster thread
// idle for up to a quarter share at the end of every product. On the
// 2-vCPU Zen 5 (shared host), guided over fixed quarters: 1.00–1.08 for
// the 4B decoder's products (BenchmarkMatVecQ8DRAM, back-to-back pairs),
// median 1.06 over whole decodes; over fixed eighths 1.07–1.11 (median of
// 120 alternating passes).
func (p *Pool) runRows(t task, total, rowBytes int) {
	grain := rowChunk(rowBytes)
	if fixedChunks {
		p.run(t, total, max(grain, (total/(4*p.threads)+3)&^3))
		return
	}
	p.guided = true
	p.run(t, total, grain)
	p.guided = false
}

// fixedChunks makes runRows claim fixed chunks of a quarter of each
// thread's share, as it did before guided chunks (benchmarks compare; set
// only while no product runs).
var fixedChunks = false

// rowChunk is the fewest rows runRows hands a thread: 64 KiB of weights
// (a smaller claim is mostly prefetcher ramp-up), a multiple of 4 rows so
// a chunk never leaves the 4- or 2-row assembly kernels a one-row
// remainder in mid-matrix.
func rowChunk(rowBytes int) int {
	return (max(64<<10/rowBytes, 1) + 3) &^ 3
}

// work claims and runs chunks of the current job until none are left.
func (p *Pool) work(slot int) {
	for {
		lo, hi, ok := p.claim()
		if !ok {
			return
		}
		p.job.run(slot, lo, hi)
	}
}

// claim takes the next chunk of the current job: grain items, or with
// guided chunks 1/threads of what is left (a multiple of 4, at least grain).
func (p *Pool) claim() (lo, hi int, ok bool) {
	if !p.guided {
		lo = int(p.next.Add(int64(p.grain))) - p.grain
		return lo, min(lo+p.grain, p.total), lo < p.total
	}
	for {
		cur := p.next.Load()
		lo = int(cur)
		if lo >= p.total {
			return 0, 0, false
		}
		n := max(p.grain, ((p.total-lo)/p.threads+3)&^3)
		if p.next.CompareAndSwap(cur, cur+int64(n)) {
			return lo, min(lo+n, p.total), true
		}
	}
}

func (p *Pool) loop(w *worker, slot int, seen uint64, quit chan struct{}, spin time.Duration) {
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
