#!/usr/bin/env bash
# Runs the amd64 kernels and golden tests on CPUs this machine is not: qemu's
# user-mode emulator answers CPUID for the CPU model it is given, so the
# kernel path the code picks at start, and every instruction it then runs,
# are those of that CPU. Forcing a lower path on a better CPU (VLMRT_CPU,
# make test-paths) cannot show either: an AVX-512 instruction that slipped
# into an avx2 kernel runs fine there, and dispatch is never asked to decide.
#
#   max,-avx512f,-avx-vnni  AVX2+FMA+F16C and no AVX-512 or AVX-VNNI (a
#                           Haswell..Zen 3 machine): must pick avx2
#   Nehalem                 SSE4.2, no AVX: must pick the pure-Go path
#
# On each: TestExpectedPath (VLMRT_TEST_EXPECT_PATH), every kernel test on
# every path the CPU has (assembly against scalar references, ragged
# shapes), and the golden-token tests of the decoder, the vision ladder, the
# engine's pipeline and the CLI's image run (tiny-a against the oracle).
# Emulation is 10-50x slower than the host, so the golden tests are the
# ones that reach every stage once; the full suites run natively on every
# path (make test-native test-paths).
#
# Installs qemu-user-static (and, off amd64 hosts, the amd64 C library the
# purego-linked test binaries load) with apt-get when missing.
# Usage: scripts/test-x86-cpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=""
command -v qemu-x86_64-static >/dev/null 2>&1 || missing="$missing qemu-user-static"
if [ "$(uname -m)" != x86_64 ]; then
	[ -e /usr/x86_64-linux-gnu/lib/ld-linux-x86-64.so.2 ] || missing="$missing libc6-amd64-cross"
	export QEMU_LD_PREFIX=/usr/x86_64-linux-gnu
fi
if [ -n "$missing" ]; then
	$SUDO apt-get install -y $missing || { $SUDO apt-get update && $SUDO apt-get install -y $missing; }
fi

# One CPU model: its qemu -cpu value, the path it must pick, then go test's
# arguments. qemu warns about host features its emulator lacks (pcid,
# x2apic, ...); those lines are noise here.
emulate() {
	local cpu=$1 want=$2
	shift 2
	echo "== emulated CPU $cpu: expecting kernel path $want"
	VLMRT_TEST_EXPECT_PATH=$want GOARCH=amd64 CGO_ENABLED=0 go test -count=1 \
		-exec "qemu-x86_64-static -cpu $cpu" "$@" 2>&1 | grep -v "TCG doesn't support"
}

GOLDEN_RUN='^(TestExpectedPath|TestGoldenActInt16|TestEncoderLadder|TestPipelineGreedy|TestRunImageGolden)$'
emulate 'max,-avx512f,-avx-vnni' avx2 ./internal/kernels/...
emulate 'max,-avx512f,-avx-vnni' avx2 -run "$GOLDEN_RUN" ./internal/decoder ./vision ./internal/engine ./cmd/vlmrt
emulate Nehalem generic -run "$GOLDEN_RUN|^TestPaths$" ./internal/kernels ./internal/decoder ./vision ./cmd/vlmrt
