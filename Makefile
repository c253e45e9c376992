# The README's test command is `make test`: it installs and starts the real
# services the integration tests talk to (Redis, RabbitMQ, Chromium, ...), runs
# every test with the race detector, and stops what it started.
GO ?= go

.PHONY: test test-short build bench

build:
	$(GO) build -o bin/chatbench .

test:
	scripts/services.sh start
	trap 'scripts/services.sh stop' EXIT; $(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -race ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
