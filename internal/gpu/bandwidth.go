package gpu

import (
	"context"
	"fmt"
	"time"
)

// MeasureBandwidth reads a size-byte device buffer with the bandwidth
// kernel (at most the device's largest buffer binding) and returns the
// best of five timed runs in GB/s (after one untimed run), the device's own counterpart of the CPU probe
// (kernels.MeasureReadBandwidth): decode's bandwidth ratio divides by it.
func MeasureBandwidth(ctx context.Context, dev Device, size int64) (float64, error) {
	if size < 1<<20 {
		return 0, fmt.Errorf("gpu: bandwidth probe of %d bytes is too small (want ≥ 1 MiB)", size)
	}
	if limit := dev.Info().MaxBufferBytes; limit > 0 && size > limit {
		size = limit &^ 15 // one buffer binding; still far larger than any cache
	}
	m := &Model{dev: dev, up: uploader{dev: dev}}
	defer m.Close()
	src, err := m.up.buffer(size)
	if err != nil {
		return 0, err
	}
	groups := 4096
	if m.cpuDevice() {
		groups = 64
	}
	out, err := m.up.buffer(int64(groups) * 4)
	if err != nil {
		return 0, err
	}
	count := size / 16
	c, err := dev.NewCommands()
	if err != nil {
		return 0, err
	}
	defer c.Release()
	r := &recorder{m: m, c: c}
	r.run("bandwidth", []uint32{256}, [3]int{groups, 1, 1},
		bandwidthPush{Count: uint32(count), PerGroup: uint32(ceil(int(count), groups))}, src, out)
	if r.err != nil {
		return 0, r.err
	}
	best := time.Duration(1<<63 - 1)
	for i := 0; i < 6; i++ {
		start := time.Now()
		if err := c.Run(ctx); err != nil {
			return 0, err
		}
		if d := time.Since(start); i > 0 && d < best {
			best = d
		}
	}
	return float64(count*16) / best.Seconds() / 1e9, nil
}
