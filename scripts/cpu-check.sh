#!/usr/bin/env bash
# make cpu-check: the one command that checks vlmrt's CPU engine on a
# machine against issue 14's targets (any amd64 or arm64 machine with Go
# 1.26: an AVX2-only PC, an Intel CPU with AVX-VNNI, an arm64 server, an
# Apple silicon Mac). It
#   1. builds the vlmrt command (CGO_ENABLED=0, as shipped),
#   2. lists the CPU kernel paths this machine supports (best first),
#   3. runs the kernel tests (each kernel against its scalar reference on
#      every path the CPU supports),
#   4. runs the golden tests on every path (VLMRT_CPU=path),
#   5. runs `vlmrt bench --shape 4b --batch 1,2,4,8 --json` on the default
#      path CPU_CHECK_RUNS times (separate processes: a shared host's bus
#      drifts between minutes), then a decode-only bench on each lower SIMD
#      path (informational: a machine whose best path is that one is what
#      the target is for),
# then prints one table (tests, the path taken, decode_bandwidth_ratio,
# prefill and vision against the measured FMA peak, B sequences per weight
# pass, each against its target) and packs every log into one .tar.gz to
# send back. It exits non-zero on a failed step or test, a wrong path, or a
# missed target. Run it on an otherwise idle machine.
#
# Usage: scripts/cpu-check.sh [--dry-run]
#   --dry-run          print the commands without running them
# Environment:
#   CPU_CHECK_OUT      output directory (default cpu-check-out/<UTC time>)
#   CPU_CHECK_SHAPE    bench shape (default 4b, which needs about 9 GB of
#                      RAM; 2b when the machine has less than 12 GB)
#   CPU_CHECK_RUNS     bench runs on the default path (default 3)
#   CPU_CHECK_LOWER    0: skip the lower paths' decode benches (default 1)
#   CPU_CHECK_SETTLE   seconds to wait at most before each bench for the load
#                      of the step before it to fade (default 60; Linux)
set -uo pipefail
cd "$(dirname "$0")/.."

dry=0
case "${1:-}" in
--dry-run) dry=1 ;;
"") ;;
*)
	echo "usage: $0 [--dry-run]" >&2
	exit 2
	;;
esac

os=$(uname -s)
arch=$(uname -m)

# memory_gb: the machine's RAM in whole GB (0 when unknown).
memory_gb() {
	if [ -r /proc/meminfo ]; then
		awk '/^MemTotal:/ {printf "%d", $2 / 1048576}' /proc/meminfo
	elif command -v sysctl >/dev/null 2>&1; then
		echo $(($(sysctl -n hw.memsize 2>/dev/null || echo 0) / 1073741824))
	else
		echo 0
	fi
}
mem=$(memory_gb)
default_shape=4b
if [ "$mem" -gt 0 ] && [ "$mem" -lt 12 ]; then
	default_shape=2b
fi
shape=${CPU_CHECK_SHAPE:-$default_shape}
runs=${CPU_CHECK_RUNS:-3}
lower=${CPU_CHECK_LOWER:-1}
out=${CPU_CHECK_OUT:-cpu-check-out/$(date -u +%Y%m%dT%H%M%SZ)}
golden_pkgs=". ./internal/engine ./internal/decoder ./vision"
kernel_pkgs="./internal/kernels/... ./internal/quant"
export CGO_ENABLED=0

# The plan, printed by --dry-run.
plan() {
	cat <<EOF
  CGO_ENABLED=0 go build -o $out/vlmrt ./cmd/vlmrt
  go run ./scripts/cpupaths                                                       > $out/paths.txt
  go test -count=1 -json $kernel_pkgs                                  > $out/kernels.json
  for each path P of paths.txt:
    VLMRT_CPU=P go test -count=1 -json $golden_pkgs          > $out/golden-P.json
  for i in 1..$runs:
    $out/vlmrt bench --shape $shape --batch 1,2,4,8 --json                        > $out/bench-i.json
  for each lower path P but generic (unless CPU_CHECK_LOWER=0):
    VLMRT_CPU=P $out/vlmrt bench --shape $shape --skip peak,vision,prefill,prefill-s1 --json > $out/bench-P.json
  go run ./scripts/cpucheck report $out                                           > $out/table.txt
  tar -czf $out.tar.gz $out
EOF
}

if [ "$dry" = 1 ]; then
	echo "cpu-check would run:"
	plan
	exit 0
fi
case "$arch" in
x86_64 | amd64 | aarch64 | arm64) ;;
*)
	echo "cpu-check: this is $os/$arch; vlmrt's CPU kernels are for amd64 and arm64." >&2
	exit 2
	;;
esac
case "$runs" in
'' | *[!0-9]* | 0)
	echo "cpu-check: CPU_CHECK_RUNS=$runs: want a whole number of runs, at least 1" >&2
	exit 2
	;;
esac
if ! command -v go >/dev/null 2>&1; then
	echo "cpu-check: Go is not installed. Install Go 1.26 or later (https://go.dev/dl/), then rerun make cpu-check." >&2
	exit 2
fi

mkdir -p "$out"
steps="$out/steps.tsv"
: >"$steps"
check=cpu-check
# shellcheck source=scripts/check-lib.sh
. scripts/check-lib.sh

# cpu_model: the CPU's name as the OS reports it.
cpu_model() {
	local m
	m=$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ {print $2; exit}')
	if [ -n "$m" ]; then
		echo "$m"
	elif [ -r /proc/cpuinfo ]; then
		awk -F': ' '/^model name|^Model|^CPU part/ {print $2; exit}' /proc/cpuinfo
	else
		sysctl -n machdep.cpu.brand_string 2>/dev/null
	fi
}
# cpu_features: the ISA extensions the kernels dispatch on.
cpu_features() {
	if [ -r /proc/cpuinfo ]; then
		awk -F': ' '/^flags|^Features/ {print $2; exit}' /proc/cpuinfo | tr ' ' '\n' |
			grep -E '^(avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|avx_vnni|asimd|asimddp|i8mm|sve)$' | tr '\n' ' '
	else
		sysctl -a 2>/dev/null | awk -F': ' '/^hw.optional.arm.FEAT_(DotProd|I8MM|BF16)/ && $2 == 1 {sub("hw.optional.arm.", "", $1); printf "%s ", $1}'
	fi
}

{
	echo "cpu: $(cpu_model)"
	echo "features: $(cpu_features)"
	echo "cpus: $(getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null)"
	echo "memory: $mem GB"
	echo "os: $os/$arch"
	echo "go: $(go version)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
	echo "shape: $shape"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$out/info.txt"

step build "$out/build.txt" go build -o "$out/vlmrt" ./cmd/vlmrt
step paths "$out/paths.txt" go run ./scripts/cpupaths
paths=$(cat "$out/paths.txt" 2>/dev/null)
# shellcheck disable=SC2086 # package lists split on purpose
step "kernel tests" "$out/kernels.json" go test -count=1 -json $kernel_pkgs
for p in $paths; do
	# shellcheck disable=SC2086
	step "golden tests $p" "$out/golden-$p.json" env VLMRT_CPU="$p" go test -count=1 -json $golden_pkgs
done
# settle: before a bench, wait (up to CPU_CHECK_SETTLE s, Linux) for the
# load of the step before it to fade below half the cores, so that the
# 1-minute load average the bench records (and the report flags above the
# core count) is other work on the machine, not this check's own.
settle() {
	[ -r /proc/loadavg ] || return 0
	local cpus waited=0
	cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	while [ "$waited" -lt "${CPU_CHECK_SETTLE:-60}" ] && awk -v c="$cpus" '{exit !($1 > c / 2)}' /proc/loadavg; do
		sleep 5
		waited=$((waited + 5))
	done
}

if [ -x "$out/vlmrt" ]; then
	for i in $(seq 1 "$runs"); do
		settle
		step "bench run $i" "$out/bench-$i.json" "$out/vlmrt" bench --shape "$shape" --batch 1,2,4,8 --json
	done
	if [ "$lower" != 0 ]; then
		for p in $(echo "$paths" | tail -n +2); do
			[ "$p" = generic ] && continue
			settle
			step "bench $p" "$out/bench-$p.json" env VLMRT_CPU="$p" "$out/vlmrt" bench --shape "$shape" --skip peak,vision,prefill,prefill-s1 --json
		done
	fi
else
	missing bench "no vlmrt binary (the build failed)"
fi

go run ./scripts/cpucheck report "$out" >"$out/table.txt" 2>"$out/table.log"
rc=$?
cat "$out/table.txt"
[ -s "$out/table.log" ] && cat "$out/table.log" >&2
# The archive leaves out the vlmrt binary (the commit in info.txt rebuilds it).
tar -czf "$out.tar.gz" -C "$(dirname "$out")" --exclude "$(basename "$out")/vlmrt" "$(basename "$out")"
echo "cpu-check: everything is in $out.tar.gz (send it back)" >&2
exit "$rc"
