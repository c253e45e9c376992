# The README's test command is `make test`: it installs and starts the real
# services the integration tests talk to (Redis, RabbitMQ, Chromium, ...), runs
# every test with the race detector, and stops what it started.
GO ?= go

.PHONY: test test-short build bench

build:
	$(GO) build -o bin/chatbench .

# Each run keeps its own state directory, so it stops only what it started
# (never services another run or a developer started).
test:
	export CHATBENCH_SERVICES_STATE=$$(mktemp -d); \
	scripts/services.sh start && \
	trap 'scripts/services.sh stop; rm -rf "$$CHATBENCH_SERVICES_STATE"' EXIT && \
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -race ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
