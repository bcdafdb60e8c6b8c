package vulkan

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vlmrt/vlmrt/internal/gpu"
)

// addWant is the host result of add.comp.
func addWant(a, b []float32, mul, n uint32, c float32) []float32 {
	o := make([]float32, len(a))
	for i := range o[:n] {
		o[i] = a[i] + b[i]*float32(mul) + c
	}
	return o
}

func equal(t testing.TB, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func ramp(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i) * scale
	}
	return v
}

func groupsFor(n, local int) [3]uint32 { return [3]uint32{uint32((n + local - 1) / local), 1, 1} }

func TestDispatch(t *testing.T) {
	bufferModes(t, func(t *testing.T, d *Device) {
		const n = 1000 // not a multiple of the workgroup size: the tail is guarded
		for _, sp := range [][2]uint32{{64, 1}, {32, 3}, {256, 2}} {
			local, mul := sp[0], sp[1]
			p := pipeline(t, d, addKernel(t), local, mul)
			a, b, o := newBuf(t, d, 4*n), newBuf(t, d, 4*n), newBuf(t, d, 4*n)
			av, bv := ramp(n, 1), ramp(n, 0.5)
			writeF32(t, a, av)
			writeF32(t, b, bv)
			c := commands(t, d)
			if err := c.Dispatch(p, groupsFor(n, int(local)), push(n-1, 0.25), a, b, o); err != nil {
				t.Fatal(err)
			}
			if err := c.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := readF32(t, o, n)
			equal(t, "add", got, addWant(av, bv, mul, n-1, 0.25))
			if got[n-1] != 0 {
				t.Fatalf("element n-1 written: %v", got[n-1])
			}
		}
	})
}

func TestWidenInt8Fp16(t *testing.T) {
	d := openTest(t, Options{})
	const n = 77
	p := pipeline(t, d, widenKernel(t), 32)
	q, h, o := newBuf(t, d, n), newBuf(t, d, 2*n), newBuf(t, d, 4*n)
	qb := make([]byte, n)
	hb := make([]byte, 2*n)
	want := make([]float32, n)
	halves := []uint16{0x3c00, 0xc000, 0x3800, 0x4500} // 1, -2, 0.5, 5
	hv := []float32{1, -2, 0.5, 5}
	for i := range n {
		v := int8(i*37 - 128)
		qb[i] = byte(v)
		hb[2*i], hb[2*i+1] = byte(halves[i%4]), byte(halves[i%4]>>8)
		want[i] = float32(v)*hv[i%4] + 1.5
	}
	if err := q.Write(0, qb); err != nil {
		t.Fatal(err)
	}
	if err := h.Write(0, hb); err != nil {
		t.Fatal(err)
	}
	c := commands(t, d)
	if err := c.Dispatch(p, groupsFor(n, 32), push(n, 1.5), q, h, o); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "widen", readF32(t, o, n), want)
}

func TestReplay(t *testing.T) {
	bufferModes(t, func(t *testing.T, d *Device) {
		const n = 300
		p := pipeline(t, d, addKernel(t), 64, 1)
		a, b, o := newBuf(t, d, 4*n), newBuf(t, d, 4*n), newBuf(t, d, 4*n)
		c := commands(t, d)
		if err := c.Dispatch(p, groupsFor(n, 64), push(n, 0), a, b, o); err != nil {
			t.Fatal(err)
		}
		for run := range 5 {
			av, bv := ramp(n, float32(run+1)), ramp(n, -float32(run))
			writeF32(t, a, av)
			writeF32(t, b, bv)
			if err := c.Run(context.Background()); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			equal(t, "replay", readF32(t, o, n), addWant(av, bv, 1, n, 0))
		}
		// Recording more after a Run needs a Reset.
		if err := c.Dispatch(p, groupsFor(n, 64), push(n, 0), a, b, o); err == nil {
			t.Fatal("Dispatch after Run succeeded")
		}
	})
}

// chain records k dependent dispatches x = x + b (ping-ponging between two
// buffers), with or without barriers, and returns the result.
func TestBarrierChain(t *testing.T) {
	bufferModes(t, func(t *testing.T, d *Device) {
		const n, steps = 4096, 20
		p := pipeline(t, d, addKernel(t), 64, 1)
		x, y, b := newBuf(t, d, 4*n), newBuf(t, d, 4*n), newBuf(t, d, 4*n)
		writeF32(t, x, ramp(n, 1))
		writeF32(t, b, ramp(n, 0.125))
		c := commands(t, d)
		src, dst := x, y
		for range steps {
			if err := c.Dispatch(p, groupsFor(n, 64), push(n, 1), src, b, dst); err != nil {
				t.Fatal(err)
			}
			c.Barrier()
			src, dst = dst, src
		}
		if err := c.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := ramp(n, 1)
		for i := range want {
			want[i] += steps * (float32(i)*0.125 + 1)
		}
		equal(t, "chain", readF32(t, src, n), want)
	})
}

func TestResetAndRerecord(t *testing.T) {
	d := openTest(t, Options{})
	const n = 128
	p1 := pipeline(t, d, addKernel(t), 64, 1)
	p2 := pipeline(t, d, addKernel(t), 64, 4)
	a, b, o := newBuf(t, d, 4*n), newBuf(t, d, 4*n), newBuf(t, d, 4*n)
	av, bv := ramp(n, 1), ramp(n, 2)
	writeF32(t, a, av)
	writeF32(t, b, bv)
	c := commands(t, d)
	for round, p := range []gpu.Pipeline{p1, p2, p1} {
		if round > 0 {
			if err := c.Reset(); err != nil {
				t.Fatal(err)
			}
		}
		for range 300 { // enough to need a second descriptor pool
			if err := c.Dispatch(p, groupsFor(n, 64), push(n, float32(round)), a, b, o); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		mul := uint32(1)
		if p == p2 {
			mul = 4
		}
		equal(t, "rerecord", readF32(t, o, n), addWant(av, bv, mul, n, float32(round)))
	}
	// An empty list runs.
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestManyDispatches(t *testing.T) {
	d := openTest(t, Options{})
	const n, count = 64, 2000
	var ps []gpu.Pipeline
	for i := range 8 {
		ps = append(ps, pipeline(t, d, addKernel(t), 64, uint32(i)))
	}
	a, b := newBuf(t, d, 4*n), newBuf(t, d, 4*n)
	writeF32(t, b, ramp(n, 1))
	c := commands(t, d)
	// a += b*mul(i) for 2000 dispatches, each after a barrier.
	var total float32
	for i := range count {
		mul := i % len(ps)
		if err := c.Dispatch(ps[mul], [3]uint32{1, 1, 1}, push(n, 0), a, b, a); err != nil {
			t.Fatalf("dispatch %d: %v", i, err)
		}
		c.Barrier()
		total += float32(mul)
	}
	if got := len(c.(*Commands).pools); got < count/poolSets {
		t.Errorf("%d descriptor pools for %d dispatches", got, count)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := ramp(n, total)
	equal(t, "many", readF32(t, a, n), want)
}

func TestDispatchValidation(t *testing.T) {
	d := openTest(t, Options{})
	other := openTest(t, Options{})
	p := pipeline(t, d, addKernel(t), 64, 1)
	op := pipeline(t, other, addKernel(t), 64, 1)
	a, b, o := newBuf(t, d, 64), newBuf(t, d, 64), newBuf(t, d, 64)
	ob := newBuf(t, other, 64)
	c := commands(t, d)
	g := [3]uint32{1, 1, 1}
	pc := push(16, 0)
	maxX := d.phys.limits.MaxComputeWorkGroupCount[0]
	var nilBuf *Buffer
	cases := []struct {
		name string
		err  error
	}{
		{"few buffers", c.Dispatch(p, g, pc, a, b)},
		{"many buffers", c.Dispatch(p, g, pc, a, b, o, o)},
		{"short push", c.Dispatch(p, g, pc[:4], a, b, o)},
		{"long push", c.Dispatch(p, g, append(pc, 0, 0, 0, 0), a, b, o)},
		{"nil buffer", c.Dispatch(p, g, pc, a, nil, o)},
		{"typed nil buffer", c.Dispatch(p, g, pc, a, nilBuf, o)},
		{"nil pipeline", c.Dispatch(nil, g, pc, a, b, o)},
		{"zero groups", c.Dispatch(p, [3]uint32{1, 0, 1}, pc, a, b, o)},
		{"too many groups", c.Dispatch(p, [3]uint32{maxX + 1, 1, 1}, pc, a, b, o)},
		{"other device's buffer", c.Dispatch(p, g, pc, a, ob, o)},
		{"other device's pipeline", c.Dispatch(op, g, pc, a, b, o)},
	}
	for _, cs := range cases {
		if cs.err == nil {
			t.Errorf("%s: no error", cs.name)
		} else {
			t.Logf("%s: %v", cs.name, cs.err)
		}
	}
	// Nothing was recorded: the list still runs and writes nothing.
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Released buffers and pipelines.
	dead := newBuf(t, d, 64)
	dead.Release()
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Dispatch(p, g, pc, a, dead, o); !errors.Is(err, errReleased) {
		t.Errorf("released buffer: %v", err)
	}
	late := newBuf(t, d, 64)
	if err := c.Dispatch(p, g, pc, a, late, o); err != nil {
		t.Fatal(err)
	}
	late.Release()
	if err := c.Run(context.Background()); err == nil {
		t.Error("Run after a recorded buffer was released succeeded")
	}

	// Pipeline arguments.
	k := addKernel(t)
	if _, err := d.Pipeline(k, []uint32{64}); err == nil {
		t.Error("Pipeline with too few specialization constants succeeded")
	}
	if _, err := d.Pipeline(k, []uint32{0, 1}); err == nil {
		t.Error("Pipeline with workgroup size 0 succeeded")
	}
	if _, err := d.Pipeline(k, []uint32{uint32(d.Info().MaxWorkgroupSize) + 1, 1}); err == nil {
		t.Error("Pipeline with a too large workgroup succeeded")
	}
	big := *k
	big.Shared = []gpu.SharedArray{{Name: "huge", ElemBytes: 1, Factors: []string{strconv.Itoa(d.Info().MaxSharedBytes + 1)}}}
	if _, err := d.Pipeline(&big, []uint32{64, 1}); err == nil {
		t.Error("Pipeline needing too much shared memory succeeded")
	} else {
		t.Log(err)
	}
	bad := *k
	bad.SPIRV = []byte("not spir-v at all....")
	if _, err := d.Pipeline(&bad, []uint32{64, 1}); err == nil {
		t.Error("Pipeline from garbage succeeded")
	}
	if _, err := d.Pipeline(nil, nil); err == nil {
		t.Error("Pipeline(nil) succeeded")
	}
}

func TestRunCancelled(t *testing.T) {
	d := openTest(t, Options{})
	const n = 64
	p := pipeline(t, d, addKernel(t), 64, 1)
	a, b, o := newBuf(t, d, 4*n), newBuf(t, d, 4*n), newBuf(t, d, 4*n)
	writeF32(t, a, ramp(n, 1))
	c := commands(t, d)
	if err := c.Dispatch(p, groupsFor(n, 64), push(n, 0), a, b, o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
	if got := readF32(t, o, n); got[5] != 0 {
		t.Fatalf("cancelled Run ran: %v", got[5])
	}
	// The list is still usable.
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	equal(t, "after cancel", readF32(t, o, n), ramp(n, 1))
}

func TestReleaseIdempotent(t *testing.T) {
	d := openTest(t, Options{})
	p, err := d.Pipeline(addKernel(t), []uint32{64, 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.NewBuffer(8)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.NewCommands()
	if err != nil {
		t.Fatal(err)
	}
	c.Release()
	c.Release()
	if err := c.Run(context.Background()); !errors.Is(err, errReleased) {
		t.Errorf("Run after Release: %v", err)
	}
	if err := c.Dispatch(p, [3]uint32{1, 1, 1}, push(1, 0), b, b, b); !errors.Is(err, errReleased) {
		t.Errorf("Dispatch after Release: %v", err)
	}
	if err := c.Reset(); !errors.Is(err, errReleased) {
		t.Errorf("Reset after Release: %v", err)
	}
	c.Barrier()
	p.Release()
	p.Release()
	b.Release()
	b.Release()
	var nb *Buffer
	nb.Release()
	var np *Pipeline
	np.Release()
	var nc *Commands
	nc.Release()
}

func TestConcurrentCommands(t *testing.T) {
	d := openTest(t, Options{})
	const workers, n, runs = 4, 2048, 10
	p := pipeline(t, d, addKernel(t), 128, 2)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		a, b, o := newBuf(t, d, 4*n), newBuf(t, d, 4*n), newBuf(t, d, 4*n)
		c := commands(t, d)
		wg.Go(func() {
			if err := c.Dispatch(p, groupsFor(n, 128), push(n, float32(w)), a, b, o); err != nil {
				errs <- err
				return
			}
			for r := range runs {
				av, bv := ramp(n, float32(w+r)), ramp(n, 1)
				if err := a.Write(0, f32bytes(av)); err != nil {
					errs <- err
					return
				}
				if err := b.Write(0, f32bytes(bv)); err != nil {
					errs <- err
					return
				}
				if err := c.Run(context.Background()); err != nil {
					errs <- err
					return
				}
				got := make([]byte, 4*n)
				if err := o.Read(0, got); err != nil {
					errs <- err
					return
				}
				want := addWant(av, bv, 2, n, float32(w))
				for i, g := range bytesf32(got) {
					if g != want[i] || math.IsNaN(float64(g)) {
						errs <- errors.New("worker result differs")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRunCancelledMidway(t *testing.T) {
	// A list long enough to outlast the context: Run must still wait for
	// the device to finish (the result is complete) before returning the
	// context's error.
	d := openTest(t, Options{})
	const n, steps = 1 << 16, 200
	p := pipeline(t, d, addKernel(t), 64, 1)
	a, b := newBuf(t, d, 4*n), newBuf(t, d, 4*n)
	writeF32(t, b, ramp(n, 1))
	c := commands(t, d)
	for range steps {
		if err := c.Dispatch(p, groupsFor(n, 64), push(n, 0), a, b, a); err != nil {
			t.Fatal(err)
		}
		c.Barrier()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Run(ctx)
	t.Logf("Run took %v: %v", time.Since(start), err)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	equal(t, "cancelled midway", readF32(t, a, n), ramp(n, steps))
}
