#!/usr/bin/env bash
# Runs the kernels and golden tests on CPUs this machine is not. qemu's
# user-mode emulators answer CPUID (x86-64) and the ID registers (arm64) for
# the CPU model they are given and raise SIGILL on any instruction it lacks,
# so the kernel path the code picks at start, and every instruction it then
# runs, are that CPU's. Forcing a lower path on a better CPU (VLMRT_CPU,
# make test-paths; the NEON tests that switch SDOT or SMMLA off) shows
# neither: an AVX-512 instruction that slipped into an avx2 kernel runs fine
# there, and dispatch is never asked to decide.
#
#   amd64 max,-avx512f,-avx-vnni  AVX2+FMA+F16C, no AVX-512 or AVX-VNNI
#                                 (Haswell .. Zen 3): must pick avx2
#   amd64 Nehalem                 SSE4.2, no AVX: must pick generic
#   arm64 cortex-a72              ARMv8.0 NEON, no dot product: neon, with
#                                 int8×int8 in Go
#   arm64 neoverse-n1             dot product, no i8mm: neon+dotprod
#   (arm64 max, dot product and i8mm, is make test-arm64's CPU)
#
# No qemu (7.2 here; 10.0 was tried too) emulates AVX-512 or AVX-VNNI, so
# the avxvnni path (Intel CPUs with AVX-VNNI and without AVX-512) has no
# emulated CPU: scripts/checkisa reads the kernels' machine code instead
# and fails on an EVEX (AVX-512) instruction in any kernel named for AVX2
# or AVX-VNNI, or an AVX-VNNI one in a kernel named for AVX2. The avxvnni
# path is the avx2 path's dispatch (checked on the emulated AVX2 CPU)
# with those …AVXVNNI kernels in the int8×int16 and int8×int8 products.
#
# On each: TestExpectedPath (VLMRT_TEST_EXPECT_PATH, VLMRT_TEST_EXPECT_Q8Q8)
# and every kernel test on every path the CPU has; on the two amd64 CPUs
# also the golden-token tests that reach every stage once (the decoder, the
# vision ladder, the engine's pipeline, `vlmrt run --image` against the
# oracle). Emulation is 10-50x slower than the host: the full suites run
# natively on every path (make test-native test-paths) and as arm64 (make
# test-arm64). The amd64 and arm64 halves run side by side.
#
# Installs qemu-user-static, and the other architecture's C library for
# the purego-linked test binaries, with apt-get when missing.
# Usage: scripts/test-cpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
missing=""
command -v qemu-x86_64-static >/dev/null 2>&1 || missing="$missing qemu-user-static"
x86_ld="" arm_ld=/usr/aarch64-linux-gnu
if [ "$(uname -m)" != x86_64 ]; then
	x86_ld=/usr/x86_64-linux-gnu
	[ -e $x86_ld/lib/ld-linux-x86-64.so.2 ] || missing="$missing libc6-amd64-cross"
fi
if [ "$(uname -m)" != aarch64 ]; then
	[ -e $arm_ld/lib/ld-linux-aarch64.so.1 ] || missing="$missing libc6-arm64-cross"
else
	arm_ld=""
fi
# shellcheck disable=SC2086 # the package list splits on purpose
scripts/apt-install.sh test-cpus $missing

# emulate ARCH CPU PATH Q8Q8 go-test-args...: one CPU model, the path and
# int8×int8 kernels it must pick. qemu warns about host features its
# emulator lacks (pcid, x2apic, ...); those lines are noise here.
emulate() {
	local arch=$1 cpu=$2 want=$3 q8q8=$4 qemu ld
	shift 4
	case $arch in
	amd64) qemu=qemu-x86_64-static ld=$x86_ld ;;
	arm64) qemu=qemu-aarch64-static ld=$arm_ld ;;
	esac
	echo "== emulated $arch CPU $cpu: expecting kernel path $want, int8×int8 $q8q8"
	QEMU_LD_PREFIX=$ld VLMRT_TEST_EXPECT_PATH=$want VLMRT_TEST_EXPECT_Q8Q8=$q8q8 \
		GOARCH=$arch CGO_ENABLED=0 go test -count=1 -exec "$qemu -cpu $cpu" "$@" 2>&1 |
		grep -v "TCG doesn't support"
}

# Scratch: each half's output, and the kernels' test binary checkisa reads.
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

GOLDEN_RUN='^(TestExpectedPath|TestPaths|TestGoldenActInt16|TestEncoderLadder|TestPipelineGreedy|TestRunImageGolden)$'
# Each half runs all its sets and fails if any did (set -e does not act
# inside a function whose caller tests its status).
amd64() {
	local fail=0
	echo "== amd64 kernels' machine code against the instruction sets their names promise"
	{ GOARCH=amd64 CGO_ENABLED=0 go test -c -o "$log/kernels.test" ./internal/kernels &&
		go run ./scripts/checkisa "$log/kernels.test"; } || fail=1
	emulate amd64 'max,-avx512f,-avx-vnni' avx2 avx2 ./internal/kernels/... || fail=1
	emulate amd64 'max,-avx512f,-avx-vnni' avx2 avx2 -run "$GOLDEN_RUN" ./internal/decoder ./vision ./internal/engine ./cmd/vlmrt || fail=1
	emulate amd64 Nehalem generic generic -run "$GOLDEN_RUN" ./internal/kernels ./internal/decoder ./vision ./cmd/vlmrt || fail=1
	return $fail
}
arm64() {
	local fail=0
	emulate arm64 cortex-a72 neon generic ./internal/kernels/... || fail=1
	emulate arm64 neoverse-n1 neon neon+dotprod ./internal/kernels/... || fail=1
	return $fail
}

# Side by side, each half's output kept whole.
amd64 >"$log/amd64" 2>&1 &
pid=$!
status=0
arm64 >"$log/arm64" 2>&1 || status=1
wait $pid || status=1
cat "$log/amd64" "$log/arm64"
[ $status -eq 0 ] || echo "FAIL: tests on an emulated CPU failed (above)"
exit $status
