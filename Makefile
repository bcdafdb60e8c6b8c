# vlmrt build and test entry points. `make test` is what CI runs (.ci/run).
GO ?= go

# Packages whose tests hold the oracle goldens, the tokenizer references and
# the kernels: they must pass with assembly, with -tags noasm and on arm64.
GOLDEN := . ./internal/engine ./internal/decoder ./vision ./mrope ./tokenizer/... ./internal/kernels/... ./internal/quant ./internal/weights

.PHONY: lint cpu-check apple-check fuzz fuzz-short test-paths build test test-native test-noasm test-race test-arm64 test-cpus test-vulkan check check-shaders check-asm shaders bench fmt

build:
	$(GO) build -o bin/vlmrt ./cmd/vlmrt

# Everything: native (assembly on), pure Go (-tags noasm), the concurrency
# tests under the race detector, arm64 (NEON) under qemu, and emulated
# amd64 and arm64 CPUs that lack AVX-512, AVX, dot product or i8mm.
test: test-native test-paths test-noasm test-race test-arm64 test-cpus test-vulkan fuzz-short

test-native:
	$(GO) test -count=1 ./...

# The golden tests again on every lower kernel path this CPU supports
# (VLMRT_CPU=avx2, generic, ...): each path must give the oracle's tokens.
# The kernel tests themselves already run every path.
test-paths:
	@for p in $$($(GO) run ./scripts/cpupaths | tail -n +2); do \
		echo "golden tests on kernel path $$p"; \
		VLMRT_CPU=$$p $(GO) test -count=1 . ./internal/engine ./internal/decoder ./vision || exit 1; \
	done

test-noasm:
	$(GO) test -count=1 -tags noasm $(GOLDEN)

test-race:
	$(GO) test -count=1 -race -run 'Concurrent|Cancel|Race|Pool|Disconnect|Queue|Hostile' . ./server ./internal/decoder ./internal/kernels ./vision ./tokenizer

# The golden packages again as linux/arm64 (NEON) under qemu (its default
# CPU, max, has dot product and i8mm: TestExpectedPath checks both are
# picked); the root
# package's API tests are the same on every architecture and its golden
# tokens come from the engine's, so emulation time goes to the numerics.
# scripts/test-arm64.sh installs qemu-user-static and the arm64 C library.
ARM64 := $(filter-out .,$(GOLDEN))
test-arm64:
	VLMRT_TEST_EXPECT_PATH=neon VLMRT_TEST_EXPECT_Q8Q8=neon+dotprod+i8mm scripts/test-arm64.sh $(ARM64)

# The kernel tests on emulated CPUs (qemu's CPUID and ID registers), each of
# which must pick its path by itself and meet no instruction it lacks: amd64
# with AVX2 and no AVX-512 (avx2) and without AVX (generic), both with the
# golden tokens too; arm64 without dot product and without i8mm. No qemu
# emulates AVX-512 or AVX-VNNI: scripts/checkisa first checks the amd64
# kernels' machine code against the instruction sets their names promise.
test-cpus:
	scripts/test-cpus.sh

# The GPU engine on a Vulkan device (lavapipe, Mesa's CPU driver, in CI;
# scripts/vulkan-deps.sh installs it with apt-get when it is missing): the
# kernel tests and the golden ladder of internal/gpu, the binding's tests,
# then every golden-token, image, multi-turn, CLI, server and stress test of
# the CPU engine again with VLMRT_BACKEND=vulkan, and the GPU engine's
# cancellation latency.
test-vulkan:
	@scripts/vulkan-deps.sh
	CGO_ENABLED=0 $(GO) test -count=1 ./internal/gpu/... ./internal/vulkan/...
	VLMRT_BACKEND=vulkan CGO_ENABLED=0 $(GO) test -count=1 . ./cmd/vlmrt ./server
	VLMRT_BACKEND=vulkan CGO_ENABLED=0 $(GO) test -count=1 -run 'TestCancelLatencyVulkan' ./internal/bench

# Regenerates the kernels' SPIR-V, MSL and reflection from the GLSL
# (internal/gpu/shaders/*.comp; needs glslc, spirv-cross, spirv-tools).
shaders:
	scripts/shaders.sh

# Fails when a committed .spv/.metal/.json differs from what the GLSL gives.
check-shaders:
	@scripts/vulkan-deps.sh
	scripts/shaders.sh
	@git diff --exit-code --stat -- internal/gpu/shaders || { echo "stale shaders: run make shaders and commit the result"; exit 1; }

# Most assembly in internal/kernels is generated (internal/kernels/asmgen):
# regenerate it and fail if that changes a committed generated file (those
# marked DO NOT EDIT; the package's hand-written files are not compared, so
# work in progress on them does not read as stale kernels).
check-asm:
	@command -v python3 >/dev/null || { echo "check-asm needs python3 (the kernel generators in internal/kernels/asmgen)"; exit 1; }
	@command -v aarch64-linux-gnu-as >/dev/null || { echo "check-asm needs aarch64-linux-gnu-as (apt-get install binutils-aarch64-linux-gnu: the NEON generators encode with it)"; exit 1; }
	@for g in internal/kernels/asmgen/*.py; do if grep -q __main__ $$g; then python3 $$g || exit 1; fi; done
	@git diff --exit-code --stat -- $$(grep -l 'DO NOT EDIT' internal/kernels/*.s internal/kernels/*.go) || { echo "stale kernels: run the generators in internal/kernels/asmgen and commit the result"; exit 1; }

check: check-shaders check-asm lint
	$(GO) vet ./...
	$(GO) vet -tags noasm ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...
	GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...
	$(GO) vet -tags hftokenizers ./tokenizer/...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# staticcheck (pinned) over the native build and the darwin/arm64 one (the
# Metal and Core AI code): dead code, misused APIs, tests that cannot fail.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	GOBIN=$(CURDIR)/bin $(GO) install $(STATICCHECK)
	bin/staticcheck ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 bin/staticcheck ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
	$(GO) run ./cmd/vlmrt bench --shape 4b

fmt:
	gofmt -l -w .

# Native Go fuzzing: every target for FUZZTIME each (make fuzz FUZZTIME=5m).
# `make test` runs a short pass so a regression in a target fails the build;
# crashers land in the package's testdata/fuzz/ and become regression tests.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./internal/safetensors:FuzzParse ./config:FuzzParse ./bundle:FuzzParseMetadata \
	./bundle:FuzzCheckpointIndex ./tokenizer:FuzzLoad ./tokenizer:FuzzRenderChat \
	./tokenizer:FuzzEncodeDecode ./vision:FuzzDecode ./vision:FuzzOrientation \
	./vision:FuzzPreprocessNative ./server:FuzzChatRequest ./cmd/vlmrt:FuzzPromptIDs \
	./internal/gpu:FuzzKernelReflection ./internal/gpu:FuzzRowsPerPart

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5x || exit 1; \
	done

# The short pass: every target's seeds and saved regressions as tests, then
# a fixed number of mutations per target (a count, not a duration: a timed
# pass on a loaded 2-core machine can fail with the fuzzer's own deadline).
# FuzzPromptIDs runs a whole `vlmrt run` per input, so it runs its seeds only.
fuzz-short:
	$(GO) test -count=1 -run '^Fuzz' ./internal/safetensors ./config ./bundle ./tokenizer ./vision ./server ./cmd/vlmrt ./internal/gpu
	$(MAKE) fuzz FUZZ_TARGETS="$(filter-out ./cmd/vlmrt:FuzzPromptIDs,$(FUZZ_TARGETS))" FUZZTIME=1000x

# On an Apple silicon Mac: kernel tests, the golden ladder and the bench on
# the Metal GPU, the Core AI bridge on macOS 27; one table, one .tar.gz to
# send back (docs/apple.md). Elsewhere it says what it would run.
apple-check:
	scripts/apple-check.sh

# On any amd64 or arm64 machine: kernel tests and golden tests on every CPU
# path it supports, the 4B bench on its best path three times and decode
# forced onto each lower path; one table against issue 14's targets, one
# .tar.gz to send back (README "Checking a CPU: make cpu-check").
cpu-check:
	scripts/cpu-check.sh
