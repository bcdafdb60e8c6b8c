#!/bin/sh
# Runs the kernels' tests for linux/arm64 under qemu user-mode emulation, so
# the NEON assembly (the path Apple silicon takes) is checked on amd64 hosts.
# Installs qemu-user-static (Debian/Ubuntu) when it is missing.
# Usage: scripts/test-arm64.sh [packages...]   (default ./internal/kernels/...)
set -eu
cd "$(dirname "$0")/.."
if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get install -y qemu-user-static || { $SUDO apt-get update && $SUDO apt-get install -y qemu-user-static; }
fi
[ $# -gt 0 ] || set -- ./internal/kernels/...
GOARCH=arm64 CGO_ENABLED=0 go test -count=1 -exec qemu-aarch64-static "$@"
