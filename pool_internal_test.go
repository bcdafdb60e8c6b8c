package vlmrt

import (
	"context"
	goruntime "runtime"
	"sync"
	"testing"
)

// TestConcurrentChatsShareThePool: two chats running at once on one model
// both keep multi-threaded kernels. Work accounting, not wall-clock: every
// product large enough to split (here the head's 151k-row matrix-vector
// product, once per step) is counted by the model's pool when it ran across
// the workers. One chat alone makes P such calls; two identical chats at
// once must make exactly 2P — a call that fell back to its caller's thread
// (the old TryLock pool did that for the second chat) would be missing.
func TestConcurrentChatsShareThePool(t *testing.T) {
	if goruntime.NumCPU() < 2 {
		t.Skip("SKIPPED: this machine has one CPU; a two-thread pool cannot be opened (WithThreads bounded by the CPU count)")
	}
	ctx := context.Background()
	m, err := Open(ctx, "testdata/tiny-a", WithThreads(2), WithBackend(BackendCPU)) // the CPU worker pool
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pool := m.engine.CPU().Pool
	if pool.Threads() != 2 {
		t.Fatalf("the model's pool has %d threads, want 2 (WithThreads)", pool.Threads())
	}
	turn := func() []int32 {
		resp, err := m.NewChat(WithGenerate(GenerateOptions{MaxTokens: 24})).SendFunc(ctx, User(Text("Describe a red square.")), func(Token) error { return nil })
		if err != nil {
			t.Error(err)
			return nil
		}
		return resp.Tokens
	}
	before := pool.ParallelCalls()
	alone := turn()
	one := pool.ParallelCalls() - before
	if one == 0 {
		t.Fatal("no kernel call of the turn ran on the pool's workers")
	}

	before = pool.ParallelCalls()
	var wg sync.WaitGroup
	got := make([][]int32, 2)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = turn() }()
	}
	wg.Wait()
	two := pool.ParallelCalls() - before
	for i, g := range got {
		if len(g) != len(alone) {
			t.Fatalf("chat %d generated %d tokens concurrently, %d alone", i, len(g), len(alone))
		}
	}
	t.Logf("parallel kernel calls: %d for one chat alone, %d for two at once", one, two)
	if two != 2*one {
		t.Fatalf("two concurrent chats made %d multi-threaded calls, want 2 × %d: some ran single-threaded", two, one)
	}
}
