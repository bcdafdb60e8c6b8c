#!/bin/sh
# Runs the kernels' tests for linux/arm64 under qemu user-mode emulation, so
# the NEON assembly (the path Apple silicon takes) is checked on amd64 hosts.
# Installs qemu-user-static and the arm64 C library (Debian/Ubuntu) when
# missing: packages that bind shared libraries through purego (the GPU
# backends, linked into the root package) are dynamically linked even with
# CGO_ENABLED=0, so their test binaries need the arm64 dynamic loader, which
# QEMU_LD_PREFIX points qemu at.
# Usage: scripts/test-arm64.sh [packages...]   (default ./internal/kernels/...)
set -eu
cd "$(dirname "$0")/.."
missing=""
command -v qemu-aarch64-static >/dev/null 2>&1 || missing="$missing qemu-user-static"
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing="$missing libc6-arm64-cross"
# shellcheck disable=SC2086 # the package list splits on purpose
scripts/apt-install.sh test-arm64 $missing
[ $# -gt 0 ] || set -- ./internal/kernels/...
QEMU_LD_PREFIX=/usr/aarch64-linux-gnu GOARCH=arm64 CGO_ENABLED=0 go test -count=1 -exec qemu-aarch64-static "$@"
