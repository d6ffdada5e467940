# sidecar-init — build, test, check and demo. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
TARGET := x86_64-unknown-linux-musl
OUT := target/$(TARGET)
BIN := $(OUT)/release/sidecar-init
SYMBOLS_BIN := $(OUT)/symbols/sidecar-init
STANDIN := $(OUT)/release/standin
export SIDECAR_INIT := $(abspath $(BIN))
export STANDIN_BIN := $(abspath $(STANDIN))
# The PID-1 test files: every tests/*.rs but docker.rs and prodlike.rs
# (mk/docker.mk and mk/prodlike.mk run those).
PID1_TESTS := $(filter-out docker prodlike,$(basename $(notdir $(wildcard tests/*.rs))))

# Cases per property/model-based test of src/logic: few in `make unit` (so
# `make test` stays fast), many in `make fuzz`, bounded by FUZZ_SECONDS.
UNIT_CASES ?= 256
FUZZ_CASES ?= 200000
FUZZ_SECONDS ?= 300

.PHONY: help toolchain panic-paths build fixtures test unit fuzz integration check run clean

help:
	@echo "make build        static, stripped sidecar-init at $(BIN)"
	@echo "make test         unit tests + integration tests (real PID 1 in a new PID namespace; needs root)"
	@echo "make fuzz         property tests of the configuration and model-based tests of the machine, $(FUZZ_CASES) cases each"
	@echo "make check        fmt, clippy, panic-symbol check, 32 KiB size budget, static check"
	@echo "make panic-paths  where a reachable panic is (when the link says one became reachable)"
	@echo "make run          a one-command tour: the init as PID 1 with four stand-in daemons"
	@echo "make demo-image   offline FROM-scratch image with stand-ins (claude-bottle-sidecars-demo)"
	@echo "make docker-test  tests against a real Docker engine"
	@echo "make build-image  production image claude-bottle-sidecars:latest (needs registry access)"
	@echo "make prodlike-image  the same Dockerfile.sidecars offline, with local stand-ins for the registry images"
	@echo "make prodlike-test   tests of the real daemons under the init in the prod-like image"
	@echo "make bench        benchmarks against tini, dumb-init, catatonit, supervisord, s6 -> BENCHMARKS.md"

# The pinned toolchain (rust-toolchain.toml) and its musl target: rustup
# installs whichever is missing, so that `make build` works on a fresh machine
# (with RUSTUP_AUTO_INSTALL=0 rustup installs nothing by itself, and a
# toolchain without the target fails with "can't find crate for `core`").
# cc is the link driver (link/cc).
CHANNEL := $(shell sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
toolchain:
	@rustup toolchain list | grep -q '^$(CHANNEL)-' \
	  || rustup toolchain install --no-self-update $(CHANNEL) --profile minimal --component clippy,rustfmt --target $(TARGET)
	@rustup target list --installed --toolchain $(CHANNEL) | grep -qx $(TARGET) \
	  || rustup target add --toolchain $(CHANNEL) $(TARGET)
	@command -v cc >/dev/null || { echo "make: no cc to link with (Debian: apt-get install gcc)" >&2; exit 1; }

build: toolchain
	$(CARGO) build --release -p sidecar-init

fixtures: toolchain
	$(CARGO) build --release -p standin

test: build fixtures unit integration

unit:
	PROPTEST_CASES=$(UNIT_CASES) $(CARGO) test --release --lib -p sidecar-init

# The same tests as `make unit` runs for src/logic's configuration properties
# (logic::config::props, logic::privilege::props) and machine model (logic::machine::model_tests), with
# many more random cases; a failure prints the shrunk, minimal input.
fuzz:
	$(CARGO) test --release --lib -p sidecar-init --no-run
	PROPTEST_CASES=$(FUZZ_CASES) timeout $(FUZZ_SECONDS) \
	  $(CARGO) test --release --lib -p sidecar-init -- logic::config::props logic::privilege::props logic::machine::model_tests

integration: build fixtures
	$(CARGO) test --release -p sidecar-init $(addprefix --test ,$(PID1_TESTS)) -- --test-threads=2

check: build
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release -p sidecar-init --all-targets -- -D warnings
	$(CARGO) clippy --release -p standin -- -D warnings
	$(CARGO) build --profile symbols -p sidecar-init
	tools/check-binary $(BIN) $(SYMBOLS_BIN)

# Where a reachable panic is: the functions that call into one.
panic-paths: toolchain
	$(CARGO) build --profile symbols -p sidecar-init --features panic-probe
	tools/panic-paths $(SYMBOLS_BIN)

run: build fixtures
	tools/demo

clean:
	$(CARGO) clean

-include mk/*.mk
