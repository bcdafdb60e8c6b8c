package vlmrt_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt"
	"github.com/vlmrt/vlmrt/internal/gpu"
)

// TestConcurrentStress runs many chats on one model from many goroutines
// for a bounded time, cancelling some at random: every finished answer
// equals a single-threaded run of the same prompt, every cancelled one is a
// prefix of it, and rounds leave no goroutines, heap or (on the GPU
// engine) device buffers behind.
func TestConcurrentStress(t *testing.T) {
	m := model(t)
	ctx := context.Background()
	prompts := []vlmrt.Message{
		vlmrt.User(vlmrt.Text("Hello")),
		vlmrt.User(vlmrt.Text("Count to five.")),
		imageMsg,
		vlmrt.User(vlmrt.ImageFile("testdata/images/d05_tiny_1x1.png").Fit(vlmrt.ResizeNative, vlmrt.ImageBudget{}), vlmrt.Text("Tiny?")),
	}
	const maxTokens = 8
	gen := vlmrt.WithGenerate(vlmrt.GenerateOptions{MaxTokens: maxTokens})
	want := make([][]int32, len(prompts))
	for i, p := range prompts {
		want[i], _ = collect(t, m.NewChat(gen), p)
	}
	round := func(seed uint64, d time.Duration) (runs, cancels int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		deadline := time.Now().Add(d)
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(g)))
				for time.Now().Before(deadline) {
					i := rng.IntN(len(prompts))
					cctx, cancel := context.WithCancel(ctx)
					stopAfter := -1
					if rng.IntN(3) == 0 {
						stopAfter = rng.IntN(maxTokens)
					}
					var got []int32
					var err error
					c := m.NewChat(gen)
					for tok, e := range c.Send(cctx, prompts[i]) {
						if e != nil {
							err = e
							break
						}
						got = append(got, tok.ID)
						if len(got) == stopAfter {
							cancel()
						}
					}
					cancel()
					// Half the chats are closed, half dropped: a dropped one
					// gives its KV cache back when collected.
					if rng.IntN(2) == 0 {
						c.Close()
					}
					mu.Lock()
					runs++
					switch {
					case stopAfter >= 0 && err != nil:
						cancels++
						if !slices.Equal(got, want[i][:len(got)]) {
							t.Errorf("prompt %d cancelled after %d tokens: %v is not a prefix of %v", i, len(got), got, want[i])
						}
					case err != nil:
						t.Errorf("prompt %d: %v", i, err)
					case !slices.Equal(got, want[i]):
						t.Errorf("prompt %d under load: %v, alone: %v", i, got, want[i])
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return runs, cancels
	}
	inUse := func() (int, uint64) {
		runtime.GC()
		time.Sleep(50 * time.Millisecond) // let finished goroutines exit
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapInuse
	}
	// On the GPU engine (VLMRT_BACKEND=vulkan) every conversation's KV
	// cache and every image live in device buffers: a round must give them
	// all back, or a server would run out of device memory.
	device := func() (int, int64, bool) {
		if b, ok := vlmrt.EngineOf(m).Backend.(*gpu.Backend); ok {
			return b.Live()
		}
		return 0, 0, false
	}
	round(1, 500*time.Millisecond) // warm up pools and caches
	g0, h0 := inUse()
	b0, bytes0, onDevice := device()
	for r := range 3 {
		runs, cancels := round(uint64(r+2), time.Second)
		g, h := inUse()
		t.Logf("round %d: %d turns (%d cancelled); goroutines %d (start %d), heap in use %.1f MiB (start %.1f)", r, runs, cancels, g, g0, float64(h)/(1<<20), float64(h0)/(1<<20))
		if onDevice {
			b, bytes, _ := device()
			// Dropped chats are released by cleanups the collections in
			// inUse queued; give them a moment to run.
			for i := 0; i < 20 && b != b0; i++ {
				runtime.GC()
				time.Sleep(50 * time.Millisecond)
				b, bytes, _ = device()
			}
			t.Logf("round %d: %d device buffers, %.1f MiB (start %d, %.1f MiB)", r, b, float64(bytes)/(1<<20), b0, float64(bytes0)/(1<<20))
			if b != b0 || bytes != bytes0 {
				t.Errorf("round %d left %d device buffers (%d bytes) behind", r, b-b0, bytes-bytes0)
			}
		}
		if g > g0+2 {
			t.Errorf("round %d left %d goroutines behind", r, g-g0)
		}
		if h > h0+64<<20 {
			t.Errorf("round %d: heap in use grew from %d to %d bytes", r, h0, h)
		}
	}
}
