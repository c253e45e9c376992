# The README's test command is `make test`: it installs and starts the real
# services the integration tests talk to (Redis, RabbitMQ, Chromium, ...), runs
# every test with the race detector, and stops what it started.
GO ?= go

.PHONY: test test-short build bench fuzz

build:
	$(GO) build -o bin/chatbench .

# Each run keeps its own state directory, so it stops only what it started
# (never services another run or a developer started).
test:
	export CHATBENCH_SERVICES_STATE=$$(mktemp -d); \
	scripts/services.sh start && \
	trap 'scripts/services.sh stop; rm -rf "$$CHATBENCH_SERVICES_STATE"' EXIT && \
	$(GO) test -race -count=1 -timeout 20m ./... && \
	$(MAKE) fuzz FUZZTIME=5s

test-short:
	$(GO) test -short -race ./...

# Each fuzz target for FUZZTIME (go test -fuzz takes one target per run);
# the seed corpora in */testdata/fuzz/ also run as plain tests in 'test'.
FUZZTIME ?= 10s
FUZZ_PKGS = ./estimate ./loadgen ./server

fuzz:
	@set -e; for pkg in $(FUZZ_PKGS); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
