//go:build darwin

package main

// On macOS the CLI includes the Core AI backend (--backend coreai). Other
// platforms leave it out: Core AI exists only on Apple's systems, and the
// bridge's loader would make the binary dynamically linked.
import _ "github.com/vlmrt/vlmrt/coreai"
