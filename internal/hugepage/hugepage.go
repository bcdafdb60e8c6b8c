// Package hugepage asks the OS for transparent huge pages on the large
// buffers decode streams once per token (the int8 weights). With 4 KiB
// pages every 4 KiB of the weight stream costs a TLB miss and a page walk
// on top of the DRAM latency; 2 MiB pages remove them. Go's heap no longer
// asks for huge pages itself, and most Linux distributions set THP to
// "madvise", so without the advice the weights get 4 KiB pages.
//
// Measured (BenchmarkHugePages in internal/quant: two 4B decoder layers,
// ~200 MB, both threads, the two layouts alternating in one process) on a
// 2-vCPU Zen 5: huge pages stream the weights 4–5% faster.
package hugepage

// enabled switches the advice (tests turn it off to compare).
var enabled = true

// SetEnabled turns the advice on or off; for benchmarks that compare the
// two page sizes. Not safe to call while other goroutines allocate.
func SetEnabled(on bool) { enabled = on }
