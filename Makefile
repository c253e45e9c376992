# The README's test command is `make test`: it checks formatting, vet and
# staticcheck, installs and starts the real services the integration tests
# talk to (Redis, RabbitMQ, Chromium, ...), runs every test with the race
# detector, runs the server package and swarm's latency tests again without
# it (their memory and latency bounds are loosened or skipped under -race),
# fuzzes every target briefly,
# and stops what it started.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test test-short build bench fuzz lint

build:
	$(GO) build -buildvcs=true -o bin/chatbench .

lint:
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt: not formatted: $$files"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Each run keeps its own state directory, so it stops only what it started
# (never services another run or a developer started).
test: lint
	export CHATBENCH_SERVICES_STATE=$$(mktemp -d); \
	scripts/services.sh start && \
	trap 'scripts/services.sh stop; rm -rf "$$CHATBENCH_SERVICES_STATE"' EXIT && \
	$(GO) test -race -count=1 -timeout 20m ./... && \
	$(GO) test -count=1 -timeout 10m ./server/ && \
	$(GO) test -count=1 -run 'DelayServer|HeldSender|ForeignRun' ./loadgen/ && \
	$(MAKE) fuzz

test-short:
	$(GO) test -short -race ./...

# Each fuzz target for FUZZTIME (go test -fuzz takes one target per run);
# the seed corpora in */testdata/fuzz/ also run as plain tests in 'test'.
# FUZZTIME is a count of inputs, not a duration: with a duration, Go 1.26's
# fuzz coordinator can report "context deadline exceeded" as a failure when
# its deadline fires while a worker is mid-input (go.dev/issue/75804, fixed
# in Go 1.27), which failed CI once with no failing input written.
FUZZTIME ?= 20000x
FUZZ_PKGS = ./internal/units ./loadgen ./loadgen/results ./loadgen/wsclient ./server

fuzz:
	@set -e; for pkg in $(FUZZ_PKGS); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -timeout 5m $$pkg; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
