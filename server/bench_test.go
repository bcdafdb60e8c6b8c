package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vlmrt/vlmrt/internal/servebench"
)

// BenchmarkServe: N streaming clients at once against the server on the
// tiny test model (what `vlmrt bench --serve-clients` measures on a
// model shape): aggregate decode tok/s while all decode, and TTFT.
func BenchmarkServe(b *testing.B) {
	m := model(b)
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			var agg, ttft float64
			for b.Loop() {
				rows, err := servebench.Run(context.Background(), m, []int{n}, 16, nil)
				if err != nil {
					b.Fatal(err)
				}
				agg += rows[0].AggregateTokS
				ttft += rows[0].TTFTMeanMs
			}
			b.ReportMetric(agg/float64(b.N), "tok/s")
			b.ReportMetric(ttft/float64(b.N), "ttft-ms")
		})
	}
}
