// Package decoder is the Qwen3-VL text decoder on the CPU (docs/design.md §2.5–2.8):
// token and image embeddings, interleaved M-RoPE, QK-norm, grouped-query
// causal attention against a per-sequence KV cache, SwiGLU, DeepStack adds,
// final norm and the vocabulary head.
//
// A Model is loaded once and is immutable, so any number of sequences can
// run on it concurrently, each with its own Cache:
//
//	m, err := decoder.Load(ctx, ckpt.Tensors, ckpt.Config, weights.Int8)
//	c := m.NewCache()
//	logits := make([]float32, m.Vocab())
//	err = m.Forward(ctx, c, ids, nil, st, decoder.LastLogits, logits)
//
// Forward runs len(ids) tokens that start at sequence index c.Len(). One
// token per call is the S=1 path (prefill or decode); many tokens per call
// is batched prefill, whose matrix products run on all tokens at once.
// Both compute the same function.
//
// Tokens are text ids (< vocab) or extension ids vocab+slot (docs/design.md §2.5),
// which embed row slot of Static.ImageEmbeds and receive the DeepStack rows
// of that slot after the first len(deepstack) layers. Rotary positions are
// either derived in-graph from (id, index) and Static's rope shift with
// mrope.SelfLocate (the seed's fixed-grid contract), or given explicitly as
// (t, h, w) per token (the general form: several images, native grids).
//
// All heavy math goes through kernels and weights.Linear.Forward, so faster
// kernels speed this package up without touching it.
package decoder
