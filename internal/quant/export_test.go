package quant

// SetHugePages switches New's huge-page advice (for BenchmarkHugePages).
func SetHugePages(on bool) { hugePages = on }
