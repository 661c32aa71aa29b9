# zkoracle — the two commands a new user runs: `make demo` (the main job) and `make test` (the whole suite).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
CARGO ?= cargo

.PHONY: all toolchain contracts build test fmt-check clippy rust-test forge-test demo bench bench-nonlinear profile soundness conformance fleet postgres clean

all: build

# Pinned chain toolchain (forge/anvil/cast 1.7.1, solc-js 0.8.26) from package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

toolchain: node_modules/.package-lock.json

# PostgreSQL server binaries for the relayer's fleet tests (Debian's package; the tests start their own server
# in a temporary directory on 127.0.0.1 and stop it).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "$${ZKORACLE_PG_BIN:-}" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y postgresql; \
	fi

# The forge artifacts in out/: the demo's Uniswap v4 bindings are generated from them at compile time (`sol!`).
contracts: toolchain
	forge build

build: contracts
	$(CARGO) build --release --locked

fmt-check:
	$(CARGO) fmt --all -- --check

clippy: contracts
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

rust-test: contracts postgres
	@if command -v cargo-nextest >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --locked --no-fail-fast; \
	else \
		$(CARGO) test --workspace --locked --no-fail-fast; \
	fi

forge-test: toolchain
	forge build --sizes >/dev/null
	forge test -vv

test: toolchain fmt-check clippy rust-test forge-test
	@echo "make test: all checks passed"

demo: contracts
	$(CARGO) run --release --locked --bin zkoracle -- demo $(if $(CONSUMER),--consumer $(CONSUMER))

bench: toolchain
	bash bench/run.sh

# The whole mutation suite: every op family, both range-check modes, fixed and private parameters at widths
# 8, 16 and 32; prints the table recorded in docs/SOUNDNESS.md (`make test` runs its fast set).
soundness: toolchain
	$(CARGO) test --locked -p zkoracle-prover --test soundness -- --include-ignored --nocapture --test-threads 1

# Issue #16's accuracy comparison with EZKL in one run: every non-linear corpus export and, with
# EZKL_MODELS=<checkout of EZKL>/examples/onnx, EZKL's own non-linear examples (not committed here); writes the
# non-linear section of BENCHMARKS.md (k, max abs error against onnxruntime, prove time, both systems).
bench-nonlinear: toolchain
	bash bench/run.sh --suite nonlinear $(if $(EZKL_MODELS),--ezkl-models $(EZKL_MODELS)) --repeat 2

# zkoracle only, one run per step: floor and perf profile (bench/profiles/*.svg); the report goes to
# bench/work/PROFILE.md, BENCHMARKS.md is left alone.
profile: toolchain
	bash bench/run.sh --systems zkoracle --repeat 1 --out bench/work/PROFILE.md

# Real exports (corpus/) and every *.onnx under MODELS=<dir> through compile → setup → prove → verify, outputs
# against onnxruntime; writes docs/COVERAGE.md. Binary: target/release/zkoracle, else target/debug/zkoracle,
# or ZKORACLE=<path>. CONFORMANCE_ARGS passes more flags (--list, --only, --timeout, --mem-gib, --no-corpus).
CONFORMANCE_PY := $(if $(wildcard .venv-corpus/bin/python),.venv-corpus/bin/python,python3)
conformance:
	$(CONFORMANCE_PY) bench/conformance.py $(if $(MODELS),--models $(MODELS)) $(CONFORMANCE_ARGS)

# The relayer fleet on PostgreSQL: three processes, a 300-request burst with SIGKILLs, and the fleet's
# throughput with 1, 2 and 3 instances (recorded in BENCHMARKS.md; make test runs a smaller burst).
fleet: toolchain postgres
	$(CARGO) test --locked -p zkoracle-relayer --test fleet -- --ignored --nocapture --test-threads 1 fleet_

clean:
	$(CARGO) clean
	rm -rf out cache broadcast
