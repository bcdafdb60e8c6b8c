package kernels

// Decode attention's two passes over the cache for one query head, as one
// call each (attn_amd64.s on amd64), for the pair-at-a-time path
// (Attention.rows).

// attnScores sets s[j] = scale·(q · k[j·stride : j·stride+dim]) for every
// j < len(s).
func attnScores(s, q, k []float32, stride, dim int, scale float32) {
	n := len(s)
	if n == 0 {
		return
	}
	_, _ = q[dim-1], k[(n-1)*stride+dim-1] // bounds, before the assembly reads
	if attnAsm(dim) {
		attnScoresAsm(s, q, k, stride, dim, scale)
		return
	}
	for j := range s {
		s[j] = Dot(q[:dim], k[j*stride:j*stride+dim]) * scale
	}
}

// attnValues adds Σ_j s[j]·v[j·stride : j·stride+dim] to out[:dim].
func attnValues(out, s, v []float32, stride, dim int) {
	n := len(s)
	if n == 0 {
		return
	}
	out = out[:dim]
	_ = v[(n-1)*stride+dim-1]
	if attnAsm(dim) {
		attnValuesAsm(out, s, v, stride, dim)
		return
	}
	for j, w := range s {
		Axpy(out, w, v[j*stride:j*stride+dim])
	}
}
