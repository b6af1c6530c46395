# UMS — see README.md. Every target works on a fresh clone.
GO      ?= go
BIN     := bin/ums
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test lint migrate tidy

## run: build and start the service on :8080 (embedded SQLite in ./data unless DATABASE_URL is set)
run: build
	./$(BIN) serve

## build: a static binary in bin/ums
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ums

## test: every test with the race detector; Postgres/Redis tests are required when CI=true
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

## lint: formatting, vet and staticcheck
lint:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## migrate: apply pending migrations to DATABASE_URL
migrate: build
	./$(BIN) migrate up
