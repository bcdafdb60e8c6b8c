//go:build !noasm

package kernels

//go:noescape
func attnScoresAVX2(s *float32, q *float32, k *float32, stride, n, dim int, scale float32)

//go:noescape
func attnValuesAVX2(out *float32, s *float32, v *float32, stride, n, dim int)

// attnAsm reports whether the attention kernels run in assembly for
// heads of dim floats (AVX2 and AVX-512 paths, dim a multiple of 8).
func attnAsm(dim int) bool { return haveAsm && dim%8 == 0 }

func attnScoresAsm(s, q, k []float32, stride, dim int, scale float32) {
	attnScoresAVX2(&s[0], &q[0], &k[0], stride, len(s), dim, scale)
}

func attnValuesAsm(out, s, v []float32, stride, dim int) {
	attnValuesAVX2(&out[0], &s[0], &v[0], stride, len(s), dim)
}
