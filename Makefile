# Azora monetization backend. `make dev` to run it, `make test` to check it.
.DEFAULT_GOAL := help
.PHONY: help dev web test fuzz soak build bench token fmt lint stop clean deploy-web

ROLE ?= student
SUB ?=
ORG ?=

help:
	@echo "make dev     serve every function on http://127.0.0.1:$${PORT:-3000} against DynamoDB Local + moto"
	@echo "make web     rebuild the web console (web/) on every change, for make dev to serve"
	@echo "make test    fmt, clippy, cfn-lint, unit + store + end-to-end tests, IAM conformance (starts and stops its services)"
	@echo "make fuzz    the parser property tests (fuzz_*) with many cases (AZORA_FUZZ_CASES=20000), then the API fuzzing with 300 examples per operation and a fresh seed"
	@echo "make soak    the randomized invariant test with more steps and seeds (SOAK_SEEDS=\"1 2 3\" SOAK_STEPS=600)"
	@echo "make token   print a dev JWT: make token ROLE=admin [SUB=user-id] [ORG=org-id]"
	@echo "make build   release Lambda artifacts (cargo-lambda, arm64) under target/lambda"
	@echo "make bench   cold start of one function binary, p50/p99 of the slice through the local server, 1M-user leaderboard"
	@echo "make deploy-web  build the console and upload it to the deployed stack's bucket (after sam deploy; STACK=azora)"
	@echo "make stop    stop services left running by an interrupted make dev/test"

dev:
	@infra/scripts/dev.sh

web:
	@infra/scripts/install-web.sh
	cd web && npm run watch

test:
	@infra/scripts/test.sh

# `make test` runs the same properties with 64 cases each.
FUZZ_CASES ?= 20000
fuzz:
	AZORA_FUZZ_CASES=$(FUZZ_CASES) cargo test -p azora-domain -p azora-stripe -p azora-store -p azora-api --lib fuzz_
	@infra/scripts/fuzz-api.sh

soak:
	@infra/scripts/soak.sh

token:
	@infra/scripts/token.sh $(ROLE) $(if $(SUB),$(SUB),demo-$(ROLE)) $(ORG)

# The functions only: not the sandbox, the local server or the bench (whose features must not
# reach the functions' build either; `-p` keeps cargo's feature unification to these crates).
FUNCTIONS := $(notdir $(wildcard functions/*))
# Release builds abort on panic, so they need no unwind tables (measured: Cargo.toml's release
# profile comment). Only for these builds: tests and the local server unwind. bench.sh and the
# README's `sam build` step pass the same flags.
RELEASE_RUSTFLAGS := -C force-unwind-tables=no
# cargo-lambda links with zig, which it finds on PATH or as `python3 -m ziglang`: the venv's bin
# goes first so that its python3 (with the ziglang wheel) is the one it runs.
build:
	@infra/scripts/install-lambda-tools.sh
	PATH="$(CURDIR)/.local/venv/bin:$$PATH" RUSTFLAGS="$(RELEASE_RUSTFLAGS)" cargo-lambda lambda build --release --arm64 $(addprefix -p ,$(FUNCTIONS))

bench:
	@infra/scripts/bench.sh

deploy-web:
	@infra/scripts/deploy-web.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings

stop:
	@infra/scripts/stop.sh dev; infra/scripts/stop.sh test

clean: stop
	cargo clean
