// Package coreai is vlmrt's Go side of the Core AI backend (docs/design.md §5):
// Apple's Core AI (macOS 27 / iOS 27) runs the seed's decoder/vision
// .aimodel bundle pair, and since its API is Swift, Go reaches it through
// github.com/ebitengine/purego (no cgo) and a small C-ABI bridge library
// whose source lives in bridge/ (vlmrt_coreai.h, VLMRTCoreAI.swift).
//
// The package builds on every OS; the bridge loads on darwin (Core AI) and
// on linux (the fake bridge in fake/, which the tests build with gcc),
// amd64 and arm64. Elsewhere Open reports ErrUnavailable.
//
// A Session takes only the seed's contract and checks it before any bridge
// call, so a request the bundles cannot run fails with ErrContract naming
// the limit instead of producing wrong numbers on the GPU: at most one
// fixed-grid image (196 slots) per conversation, one token per step (S=1)
// appended at the end of the KV cache, image tokens as extension ids
// vocab+slot in slot order, and the rope shift set by the host so the
// graph's self-located positions equal Hugging Face's get_rope_index.
//
// # Ownership
//
// The bridge owns everything behind a handle (Core AI models, static input
// buffers, KV state); Session.Close frees it, exactly once however often
// Close is called. Go owns every buffer it passes (paths, patches,
// embeddings, logits, the info struct, the error buffer) and passes
// pointers to them only for the duration of one call: the bridge copies
// what it keeps and never retains a Go pointer after returning, so nothing
// needs pinning (Go's collector does not move heap objects, and purego keeps
// the arguments reachable until the C function returns). The only C memory
// Go holds is the opaque handle, stored as a uintptr and never dereferenced.
//
// # Concurrency
//
// A bridge handle is not thread-safe; a Session serializes its calls with a
// mutex, so a Session may be shared but its calls never overlap. Different
// Sessions run concurrently (the ABI requires that of the bridge). Each
// Session loads its own copy of the model in the current bridge: for the
// 4B seed that is 4.7 GB per Session, so callers should keep one.
//
// # Cancellation
//
// A call into the bridge cannot be interrupted. Every method checks its
// context before calling; Open, whose cold load takes tens of seconds on a
// device, also returns as soon as the context is done and closes the
// handle in the background when the load finishes.
package coreai
