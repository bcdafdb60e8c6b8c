#!/bin/sh
# build.sh compiles the test kernels to the committed SPIR-V (go generate in
# internal/vulkan runs it; needs glslc and spirv-val from the Vulkan SDK or
# the glslc and spirv-tools packages).
set -e
cd "$(dirname "$0")"
for f in *.comp; do
	glslc --target-env=vulkan1.2 -O "$f" -o "${f%.comp}.spv"
	spirv-val --target-env vulkan1.2 "${f%.comp}.spv"
done
