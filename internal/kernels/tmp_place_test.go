package kernels

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/vlmrt/vlmrt/internal/hugepage"
)

func TestTmpPlacement(t *testing.T) {
	if os.Getenv("VLMRT_TMP") == "" {
		t.Skip()
	}
	ctx := context.Background()
	var bufs [][]byte
	for range 4 {
		raw := make([]byte, 1<<30)
		hugepage.Advise(raw)
		raw[0] = 1
		for n := 1; n < len(raw); n *= 2 {
			copy(raw[n:], raw[:n])
		}
		bufs = append(bufs, raw)
	}
	for r := range 8 {
		line := fmt.Sprintf("round %d:", r)
		for _, b := range bufs {
			g, _ := MeasureRegionsReadBandwidth(ctx, [][]byte{b}, 2)
			line += fmt.Sprintf(" %5.1f", g)
		}
		t.Log(line)
	}
}
