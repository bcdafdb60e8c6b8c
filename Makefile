# vlmrt build and test entry points. `make test` is what CI runs.
GO ?= go

.PHONY: build test check bench fmt

build:
	$(GO) build -o bin/vlmrt ./cmd/vlmrt

test:
	$(GO) test -count=1 ./...

check:
	$(GO) vet ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

fmt:
	gofmt -l -w .
