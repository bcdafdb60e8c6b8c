#!/usr/bin/env bash
# make apple-check: the one command a Mac owner runs to check vlmrt on Apple
# hardware (Apple silicon, macOS 14 or later, Go 1.26). It
#   1. builds the vlmrt command (CGO_ENABLED=0, as shipped),
#   2. runs every kernel test on the Metal GPU,
#   3. runs the full golden ladder on the Metal backend,
#   4. runs `vlmrt bench --backend metal --shape 4b`,
#   5. builds and self-checks the Core AI bridge when the Mac runs macOS 27
#      (else one line saying it was skipped),
# then prints one table (per-stage cosine and max error, tokens equal or not,
# decode tok/s, bandwidth ratio against the GPU's measured bandwidth, vision
# ms, the performance model of docs/apple.md confirmed or refuted) and packs every
# log into one .tar.gz to send back. It exits non-zero on any mismatch.
#
# Usage: scripts/apple-check.sh [--dry-run]
#   --dry-run          print the commands without running them (any OS)
# Environment:
#   APPLE_CHECK_OUT    output directory (default apple-check-out/<UTC time>)
#   APPLE_CHECK_SHAPE  bench shape (default 4b; 2b for a Mac with 8 GB)
#   APPLE_CHECK_KERNEL_PKGS, APPLE_CHECK_LADDER_PKGS, APPLE_CHECK_LADDER_RUN
#                      override which tests run (defaults below)
#   VLMRT_COREAI_DECODER, VLMRT_COREAI_VISION
#                      the seed's Core AI bundle pair, to run the bridge's
#                      self-check on the real graphs (macOS 27 only)
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

shape=${APPLE_CHECK_SHAPE:-4b}
out=${APPLE_CHECK_OUT:-apple-check-out/$(date -u +%Y%m%dT%H%M%SZ)}

# The packages whose tests run on the Metal GPU, and the golden ladder:
# the GPU engine's tests (internal/gpu) open their device by
# VLMRT_GPU_TEST_DEVICE (vulkan by default); VLMRT_BACKEND names the
# backend for tests above the device.
kernel_pkgs=${APPLE_CHECK_KERNEL_PKGS:-./internal/metal/... ./internal/gpu/...}
ladder_pkgs=${APPLE_CHECK_LADDER_PKGS:-./internal/gpu/...}
ladder_run=${APPLE_CHECK_LADDER_RUN:-Golden|Ladder|Token}
export CGO_ENABLED=0 VLMRT_GPU_TEST_DEVICE=metal VLMRT_BACKEND=metal

# The plan, printed by --dry-run and off a Mac.
plan() {
	cat <<EOF
  CGO_ENABLED=0 go build -o $out/vlmrt ./cmd/vlmrt
  CGO_ENABLED=0 VLMRT_GPU_TEST_DEVICE=metal VLMRT_BACKEND=metal go test -count=1 -json $kernel_pkgs > $out/kernels.json
  CGO_ENABLED=0 VLMRT_GPU_TEST_DEVICE=metal VLMRT_BACKEND=metal go test -count=1 -json -run '$ladder_run' $ladder_pkgs > $out/ladder.json
  CGO_ENABLED=0 VLMRT_BACKEND=metal go test -count=1 -json . ./cmd/vlmrt ./server > $out/golden.json
  $out/vlmrt bench --backend metal --shape $shape --json                         > $out/bench.json
  on macOS 27: swift build -c release --package-path internal/coreai/bridge --product vlmrt_coreai
               swift run -c release --package-path internal/coreai/bridge vlmrt-coreai-check [\$VLMRT_COREAI_DECODER \$VLMRT_COREAI_VISION]
               go test -count=1 ./internal/coreai/... ./coreai/
  go run ./scripts/applecheck report $out                                        > $out/table.txt
  tar -czf $out.tar.gz $out
EOF
}

os=$(uname -s)
arch=$(uname -m)
if [ "$dry" = 1 ]; then
	echo "apple-check would run:"
	plan
	exit 0
fi
if [ "$os" != Darwin ] || [ "$arch" != arm64 ]; then
	echo "apple-check: this is $os/$arch; the check needs an Apple silicon Mac (arm64, macOS 14 or later)." >&2
	echo "On such a Mac it would run:" >&2
	plan >&2
	echo "Nothing was run. (Linux CI covers the rest: make check && make test.)" >&2
	exit 2
fi
macos=$(sw_vers -productVersion)
major=${macos%%.*}
if [ "$major" -lt 14 ]; then
	echo "apple-check: macOS $macos; the check needs macOS 14 or later (the kernels compile as MSL 3.0; the check is written for 14+)." >&2
	exit 2
fi
if ! command -v go >/dev/null 2>&1; then
	echo "apple-check: Go is not installed. Install Go 1.26 or later (https://go.dev/dl/ or: brew install go), then rerun make apple-check." >&2
	exit 2
fi

mkdir -p "$out"
steps="$out/steps.tsv"
: >"$steps"

check=apple-check
# shellcheck source=scripts/check-lib.sh
. scripts/check-lib.sh

{
	echo "chip: $(sysctl -n machdep.cpu.brand_string 2>/dev/null)"
	echo "gpu: $(system_profiler SPDisplaysDataType 2>/dev/null | awk -F': ' '/Chipset Model|Total Number of Cores|Metal Support/ {printf "%s%s", sep, $2; sep=", "}')"
	echo "memory: $(($(sysctl -n hw.memsize) / 1073741824)) GB"
	echo "macOS: $macos ($(sw_vers -buildVersion))"
	echo "go: $(go version)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$out/info.txt"

# existing PKG...: the packages of the list this commit has (the GPU engine
# of issue 12 may not have landed yet).
existing() {
	local p
	for p in "$@"; do
		[ -d "${p%/...}" ] && printf '%s ' "$p"
	done
}

step build "$out/build.txt" go build -o "$out/vlmrt" ./cmd/vlmrt
kernels=$(existing $kernel_pkgs)
ladder=$(existing $ladder_pkgs)
# shellcheck disable=SC2086 # package lists split on purpose
step "kernel tests" "$out/kernels.json" go test -count=1 -json $kernels
if [ -n "$ladder" ]; then
	# shellcheck disable=SC2086
	step "golden ladder" "$out/ladder.json" go test -count=1 -json -run "$ladder_run" $ladder
else
	missing "golden ladder" "not in this commit: $ladder_pkgs (the GPU engine, issue 12) does not exist yet"
fi
# Every golden-token test of the library, the CLI and the server through
# the public API (VLMRT_BACKEND=metal makes BackendAuto open Metal).
step "golden tokens" "$out/golden.json" go test -count=1 -json . ./cmd/vlmrt ./server
if [ ! -x "$out/vlmrt" ]; then
	missing bench "no vlmrt binary (the build failed)"
elif ! "$out/vlmrt" bench --help 2>&1 | grep -q -- '-backend'; then
	missing bench "not in this commit: vlmrt bench has no --backend flag yet (the GPU backend's registration, issue 12/13)"
else
	step bench "$out/bench.json" "$out/vlmrt" bench --backend metal --shape "$shape" --json
fi

if [ "$major" -ge 27 ]; then
	bridge=internal/coreai/bridge
	step "Core AI bridge build" "$out/coreai-build.txt" swift build -c release --package-path "$bridge" --product vlmrt_coreai
	args=()
	if [ -n "${VLMRT_COREAI_DECODER:-}" ] && [ -n "${VLMRT_COREAI_VISION:-}" ]; then
		args=("$VLMRT_COREAI_DECODER" "$VLMRT_COREAI_VISION")
	fi
	step "Core AI bridge self-check" "$out/coreai.txt" swift run -c release --package-path "$bridge" vlmrt-coreai-check ${args[@]+"${args[@]}"}
	if go test -count=1 ./internal/coreai/... ./coreai/ >"$out/coreai-gotest.log" 2>&1; then
		echo "ok    go test ./internal/coreai/... ./coreai/ (Go side, fake bridge)" >>"$out/coreai.txt"
	else
		echo "FAIL  go test ./internal/coreai/... ./coreai/ (see coreai-gotest.log)" >>"$out/coreai.txt"
	fi
else
	echo "SKIP macOS $macos: the Core AI bridge needs macOS 27 (Core AI); not built" >"$out/coreai.txt"
fi

go run ./scripts/applecheck report "$out" | tee "$out/table.txt"
rc=${PIPESTATUS[0]}
# The archive leaves out the vlmrt binary (the commit in info.txt rebuilds it).
tar -czf "$out.tar.gz" -C "$(dirname "$out")" --exclude "$(basename "$out")/vlmrt" "$(basename "$out")"
echo
echo "apple-check: everything is in $out/ and packed in $out.tar.gz"
echo "Send back $out.tar.gz (attach it to issue 13 \"Apple GPU\"), or at least paste $out/table.txt."
exit "$rc"
