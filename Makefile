# sidecar-init — build, test, check and demo. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
# The architecture built and tested: x86_64 (default) or aarch64. The
# aarch64 build links with Debian's gcc-aarch64-linux-gnu (link/cc-aarch64)
# and its tests run under qemu-user through binfmt_misc (tools/qemu-binfmt);
# `make toolchain` installs both when missing.
ARCH ?= x86_64
ARCHES := x86_64 aarch64
ifeq ($(filter $(ARCH),$(ARCHES)),)
$(error ARCH=$(ARCH) is not accepted: one of $(ARCHES))
endif
TARGET := $(ARCH)-unknown-linux-musl
# Every cargo command names its target, so ARCH=aarch64 builds, checks and
# tests the aarch64 code (.cargo/config.toml's build.target is x86_64).
CARGO_TARGET := --target $(TARGET)
OUT := target/$(TARGET)
BIN := $(OUT)/release/sidecar-init
SYMBOLS_BIN := $(OUT)/symbols/sidecar-init
STANDIN := $(OUT)/release/standin
export SIDECAR_INIT := $(abspath $(BIN))
export STANDIN_BIN := $(abspath $(STANDIN))
# The PID-1 test files: every tests/*.rs but docker.rs, engines.rs and prodlike.rs
# (mk/docker.mk, mk/engines.mk and mk/prodlike.mk run those).
PID1_TESTS := $(filter-out docker engines prodlike,$(basename $(notdir $(wildcard tests/*.rs))))

# Cases per property/model-based test of src/logic: few in `make unit` (so
# `make test` stays fast), many in `make fuzz`, bounded by FUZZ_SECONDS.
UNIT_CASES ?= 256
FUZZ_CASES ?= 200000
FUZZ_SECONDS ?= 300

.PHONY: help toolchain emulation panic-paths build build-all fixtures test unit fuzz integration check check-arch run clean

help:
	@echo "make build        static, stripped sidecar-init at $(BIN) (ARCH=x86_64 or aarch64)"
	@echo "make build-all    both: target/{x86_64,aarch64}-unknown-linux-musl/release/sidecar-init"
	@echo "make test         unit tests + integration tests (real PID 1 in a new PID namespace; needs root);"
	@echo "                  ARCH=aarch64: the same under qemu-user"
	@echo "make fuzz         property tests of the configuration and model-based tests of the machine, $(FUZZ_CASES) cases each"
	@echo "make check        fmt, clippy, panic-symbol check, size budget (32 KiB x86_64, 36 KiB aarch64), static check: both architectures"
	@echo "make panic-paths  where a reachable panic is (when the link says one became reachable)"
	@echo "make run          a one-command tour: the init as PID 1 with four stand-in daemons"
	@echo "make demo-image   offline FROM-scratch image with stand-ins (claude-bottle-sidecars-demo)"
	@echo "make docker-test  tests against a real Docker engine (x86_64 demo image, then arm64 under qemu)"
	@echo "make podman-test  the demo image's core checks under podman"
	@echo "make containerd-test  the demo image's core checks under a private containerd (ctr)"
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
ifeq ($(ARCH),aarch64)
	@command -v aarch64-linux-gnu-gcc >/dev/null || { apt-get install -y -qq gcc-aarch64-linux-gnu \
	  || { apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu; }; }
endif

build: toolchain
	$(CARGO) build --release -p sidecar-init $(CARGO_TARGET)

build-all:
	for arch in $(ARCHES); do $(MAKE) --no-print-directory build ARCH=$$arch || exit 1; done

fixtures: toolchain
	$(CARGO) build --release -p standin $(CARGO_TARGET)

# Tests of aarch64 binaries run under qemu-user: binfmt_misc hands every
# aarch64 executable (cargo's test harnesses, the init, the stand-in) to it.
emulation:
ifeq ($(ARCH),aarch64)
	tools/qemu-binfmt ensure
endif

test: build fixtures unit integration

unit: emulation
	PROPTEST_CASES=$(UNIT_CASES) $(CARGO) test --release --lib -p sidecar-init $(CARGO_TARGET)

# The same tests as `make unit` runs for src/logic's configuration properties
# (logic::config::props, logic::privilege::props) and machine model (logic::machine::model_tests), with
# many more random cases; a failure prints the shrunk, minimal input.
fuzz: emulation
	$(CARGO) test --release --lib -p sidecar-init $(CARGO_TARGET) --no-run
	PROPTEST_CASES=$(FUZZ_CASES) timeout $(FUZZ_SECONDS) \
	  $(CARGO) test --release --lib -p sidecar-init $(CARGO_TARGET) -- logic::config::props logic::privilege::props logic::machine::model_tests

# Under qemu-user (Debian's 7.2) these tests would check qemu, not the init:
# qemu refuses PR_SET_CHILD_SUBREAPER, keeps host real-time signals for
# itself (so `kill -s RTMIN+k` reaches the guest as another signal), and
# /proc shows the host process's signal mask and ignored set (qemu ignores
# host signal 32 in every process it runs), not the guest's. They run on
# real aarch64 hardware (ARCH=aarch64 on an aarch64 host).
QEMU_SKIPS := not_pid1_it_reaps_orphans_as_subreaper_and_makes_no_sweep kill_s_rtmin_k_restarts_exactly_slot_k \
  the_init_blocks_every_signal_but_the_faults daemons_get_empty_signal_mask_default_dispositions_and_only_fds_0_1_2
ifeq ($(ARCH)-$(shell uname -m),aarch64-x86_64)
export SIDECAR_QEMU := 1
PID1_SKIPS := $(addprefix --skip ,$(QEMU_SKIPS))
endif

# --no-fail-fast: every test file runs, and the summary lists every failure.
integration: build fixtures emulation
	$(CARGO) test --release -p sidecar-init $(CARGO_TARGET) --no-fail-fast $(addprefix --test ,$(PID1_TESTS)) \
	  -- --test-threads=2 $(PID1_SKIPS)

# fmt once; clippy, the budget, the static and the panic-symbol checks for
# each architecture (check-arch).
check:
	$(CARGO) fmt --all -- --check
	for arch in $(ARCHES); do $(MAKE) --no-print-directory check-arch ARCH=$$arch || exit 1; done

check-arch: build
	$(CARGO) clippy --release -p sidecar-init $(CARGO_TARGET) --all-targets -- -D warnings
	$(CARGO) clippy --release -p standin $(CARGO_TARGET) -- -D warnings
	$(CARGO) build --profile symbols -p sidecar-init $(CARGO_TARGET)
	tools/check-binary $(BIN) $(SYMBOLS_BIN)

# Where a reachable panic is: the functions that call into one.
panic-paths: toolchain
	$(CARGO) build --profile symbols -p sidecar-init $(CARGO_TARGET) --features panic-probe
	tools/panic-paths $(SYMBOLS_BIN)

run: build fixtures
	tools/demo

clean:
	$(CARGO) clean

-include mk/*.mk
