// Package shaders holds the GPU engine's kernels: the GLSL source (*.comp,
// the one place a kernel is written) and its generated forms, committed so
// that `go build` needs no shader tools: spv/ (SPIR-V for Vulkan, glslc),
// msl/ (Metal Shading Language, spirv-cross from that SPIR-V) and reflect/
// (the SPIR-V's bindings, push constants and specialization constants,
// against which the Go side is checked). `make shaders` regenerates them
// (scripts/shaders.sh); CI fails when they are stale.
package shaders

import "embed"

// FS holds spv/NAME.spv, msl/NAME.metal and reflect/NAME.json per kernel.
//
//go:embed spv/*.spv msl/*.metal reflect/*.json
var FS embed.FS
