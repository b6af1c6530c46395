# UMS — see README.md. Every target works on a fresh clone.
GO      ?= go
BIN     := bin/ums
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test test-deploy test-resilience test-browser fuzz bench lint migrate tidy

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

## test-deploy: the operations kit run for real: nginx+TLS, systemd-analyze, the image's static binary,
## backup/restore (pg_dump, ums backup), the Django example (installs missing tools as root; see test/deploy)
test-deploy:
	test/deploy/prereqs.sh
	$(GO) vet -tags deploy ./test/deploy/
	$(GO) test -tags deploy -count=1 -timeout 10m -v ./test/deploy/

## test-resilience: the real binary through Postgres/Redis cuts, SIGTERM under load, races and a 2-minute soak; then fuzz
test-resilience: fuzz
	$(GO) vet -tags resilience ./test/resilience/
	$(GO) test -tags resilience -count=1 -timeout 15m -v ./test/resilience/

## test-browser: only the browser tests (part of make test too): the pages in headless Debian Chromium
## (/usr/bin/chromium) driven by chromedp; BROWSER_SCREENSHOTS=dir keeps the PNGs.
## Skips without Chromium; fails without it when CI=true.
test-browser:
	$(GO) test -race -count=1 ./test/browser/...

## fuzz: each fuzz target for FUZZTIME (default 10s); `go test -fuzz` takes one target per run.
## The e2e body fuzzers run on SQLite and, when reachable (required with CI=true), Postgres.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./adapters/http:FuzzBindJSON ./domain:FuzzPasswordPolicy ./adapters/crypto:FuzzJWTVerify ./adapters/crypto:FuzzLegacyHashParser \
	./test/e2e:FuzzRegisterNeverAnswers5xx ./test/e2e:FuzzLoginNeverAnswers5xx
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; done

## bench: load benchmark of bin/ums on Postgres (REDIS_URL optional): ceilings, scenarios, table; JSON in bench/
bench: build
	$(GO) run ./test/load -bin $(BIN) -out bench

## lint: formatting, vet, staticcheck and actionlint (the GitHub workflows; their run: scripts through shellcheck when installed).
## actionlint's requirements live in .ci/tools.mod: its YAML library clashes with the service's.
lint:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) tool -modfile=.ci/tools.mod actionlint

## migrate: apply pending migrations to DATABASE_URL
migrate: build
	./$(BIN) migrate up
