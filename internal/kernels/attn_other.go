//go:build noasm || !amd64

package kernels

// attnAsm: the attention kernels are Go here (a Dot or an Axpy per
// position, each vectorized where the path has it).
func attnAsm(dim int) bool { return false }

func attnScoresAsm(s, q, k []float32, stride, dim int, scale float32) {}

func attnValuesAsm(out, s, v []float32, stride, dim int) {}
