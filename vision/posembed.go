package vision

// interpolatePosEmbed resamples the learned side×side position table
// (table [side*side, hidden], raster order) to a gridH×gridW patch grid the
// way Hugging Face's Qwen3VLVisionModel.fast_pos_embed_interpolate does:
// align-corners sampling (row i samples linspace(0, side-1, gridH)[i]), the
// floor and floor+1 neighbours (the upper one clamped to side-1) blended
// bilinearly. The result is returned in the tower's block-major patch order
// (see patchOrigin), so it can be added straight to the patch embeddings.
// Arithmetic is float64, rounded once, to stay on the oracle's numbers.
func interpolatePosEmbed(table []float32, side, hidden, gridH, gridW, merge int) []float32 {
	hs, ws := linspace(side-1, gridH), linspace(side-1, gridW)
	out := make([]float32, gridH*gridW*hidden)
	acc := make([]float64, hidden)
	for p := 0; p < gridH*gridW; p++ {
		r, c := patchOrigin(p, gridW, merge)
		h0, dh := splitIndex(hs[r])
		w0, dw := splitIndex(ws[c])
		h1, w1 := min(h0+1, side-1), min(w0+1, side-1)
		clear(acc)
		for _, n := range [4]struct {
			row int
			wt  float64
		}{
			{h0*side + w0, (1 - dh) * (1 - dw)},
			{h0*side + w1, (1 - dh) * dw},
			{h1*side + w0, dh * (1 - dw)},
			{h1*side + w1, dh * dw},
		} {
			src := table[n.row*hidden : (n.row+1)*hidden]
			for i, v := range src {
				acc[i] += n.wt * float64(v)
			}
		}
		dst := out[p*hidden : (p+1)*hidden]
		for i, v := range acc {
			dst[i] = float32(v)
		}
	}
	return out
}

// linspace returns n evenly spaced samples of [0, end] with both ends
// included (torch.linspace); a single sample is 0.
func linspace(end, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		return out
	}
	step := float64(end) / float64(n-1)
	for i := range out {
		out[i] = float64(i) * step
	}
	out[n-1] = float64(end) // exact end point, as torch guarantees
	return out
}

// splitIndex splits a non-negative sample position into its integer part and
// the fractional blend weight toward the next index.
func splitIndex(x float64) (int, float64) {
	i := int(x)
	return i, x - float64(i)
}

// patchOrigin gives the full-resolution (row, col) of patch p in the
// block-major order the preprocessor emits: merge×merge groups in raster
// order over the grid, the patches of each group in raster order.
func patchOrigin(p, gridW, merge int) (row, col int) {
	group, within := p/(merge*merge), p%(merge*merge)
	groupsPerRow := gridW / merge
	return (group/groupsPerRow)*merge + within/merge, (group%groupsPerRow)*merge + within%merge
}
