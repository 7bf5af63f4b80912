# Developer shortcuts. CI runs .ci/run (gofmt, vet, staticcheck, go test -race -pgo=off).
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# VERSION=0.1.0 make dist stamps a release; see scripts/dist.
export VERSION COMMIT TARGETS

.PHONY: all build test race lint vet staticcheck fmt dist soak arm-e2e clean

all: lint test

build:
	$(GO) build ./...

test:
	$(GO) test ./...

race:
	$(GO) test -race -pgo=off ./...

lint: vet staticcheck
	@unformatted=$$(gofmt -l . | grep -v '^testdata/' || true); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted" >&2; exit 1; fi

vet:
	$(GO) vet ./...
	GOOS=linux GOARCH=arm GOARM=7 $(GO) vet ./internal/sockio

staticcheck:
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -l . | grep -v '^testdata/' | xargs -r gofmt -w

# Static binaries for linux/amd64, linux/arm64 (Flex) and linux/arm GOARM=7
# (OT-2) in dist/, with SHA256SUMS.
dist:
	scripts/dist

# A load test through the proxy: SOAK_ARGS="--duration 5m --connections 1000".
soak:
	scripts/soak $(SOAK_ARGS)

# The robots' binaries (armv7, arm64) through e2e tests under qemu-user.
arm-e2e:
	scripts/arm-e2e

clean:
	rm -rf dist
