//go:build !amd64 || noasm

package kernels

// gemmQ16NR: only amd64's avx512vnni and avxvnni paths have the
// int16-activation micro-kernel (NEON's int16 multiply-adds are no faster
// per column than its float32 FMAs); MatMulQ8Q16 takes the matrix-vector
// kernels here.
func gemmQ16NR() int { return 0 }

func gemmQ16Tile(c *float32, cs int, w *int16, ws int, s *float32, xq *uint32, xs *float32, blocks int, wide bool) {
	panic("kernels: no int16 micro-kernel on this path")
}

func widenQ8Asm(dst *int16, ds int, q *int8, qs int, scales *uint16, ss int, sdst *float32, rows, blocks, pf int) {
	panic("kernels: no int16 micro-kernel on this path")
}
