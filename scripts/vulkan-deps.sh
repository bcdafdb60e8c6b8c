#!/bin/sh
# Installs what the GPU tests and `make shaders` need when it is missing:
# Mesa's Vulkan drivers (lavapipe, a Vulkan 1.3 device that runs on the CPU),
# the Vulkan loader, and the shader toolchain (glslc, spirv-cross,
# spirv-tools). Debian/Ubuntu; elsewhere it says what to install.
set -eu
missing=""
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || missing="$missing libvulkan1"
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || missing="$missing mesa-vulkan-drivers"
command -v glslc >/dev/null 2>&1 || missing="$missing glslc"
command -v spirv-cross >/dev/null 2>&1 || missing="$missing spirv-cross"
command -v spirv-val >/dev/null 2>&1 || missing="$missing spirv-tools"
# shellcheck disable=SC2086 # the package list splits on purpose
"$(dirname "$0")/apt-install.sh" vulkan-deps $missing
