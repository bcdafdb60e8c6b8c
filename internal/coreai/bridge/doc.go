// Package bridge holds no Go code to import: this directory is the Core AI
// bridge library's source (vlmrt_coreai.h, the C ABI; VLMRTCoreAI.swift, its
// implementation; Package.swift, which builds it with `swift build` on a
// Mac). The package exists for its test, which checks on any OS that the
// Swift source exports exactly the header's functions with matching
// parameter types and constants, and that the Swift package builds the
// library under the name the Go loader looks for — the mistakes that would
// otherwise surface only on a Mac running macOS 27.
package bridge
