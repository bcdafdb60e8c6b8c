#!/usr/bin/env bash
# Regenerates the committed kernel forms from the one GLSL source
# (internal/gpu/shaders/*.comp): SPIR-V for Vulkan (glslc), Metal Shading
# Language translated from that SPIR-V (spirv-cross), and the SPIR-V's
# reflection (bindings, push-constant layout, specialization constants) that
# the Go descriptions are checked against. `make shaders` runs it; CI runs
# it and fails when the committed files differ (a stale .spv or .metal).
#
# Metal specifics: the push-constant block is moved to [[buffer(N)]] with N
# the number of storage buffers (spirv-cross puts it at 0, where binding 0
# already is), and specialization constants become SPIRV_CROSS_CONSTANT_ID_n
# macros the Metal device defines when it compiles a specialization.
set -euo pipefail
cd "$(dirname "$0")/../internal/gpu/shaders"
for tool in glslc spirv-cross spirv-val; do
	command -v $tool >/dev/null || { echo "shaders: $tool not found (apt-get install glslc spirv-cross spirv-tools)" >&2; exit 1; }
done
mkdir -p spv msl reflect
rm -f spv/*.spv msl/*.metal reflect/*.json
for src in *.comp; do
	name=${src%.comp}
	glslc --target-env=vulkan1.1 -fshader-stage=compute "$src" -o "spv/$name.spv"
	spirv-val --target-env vulkan1.1 "spv/$name.spv"
	spirv-cross "spv/$name.spv" --reflect --output "reflect/$name.json"
	nbuf=$(grep -c '"binding"' "reflect/$name.json" || true)
	spirv-cross "spv/$name.spv" --msl --msl-version 20300 --msl-decoration-binding \
		--rename-entry-point main "${name}_main" comp |
		sed -E "s/(constant P& p) \[\[buffer\(0\)\]\]/\1 [[buffer($nbuf)]]/" >"msl/$name.metal"
done
