# make bench: sidecar-init side by side with tini, dumb-init, catatonit, s6 and
# supervisord, each as PID 1 of a fresh PID namespace -> BENCHMARKS.md and
# bench/benchmarks.png. Needs root; installs the other inits from Debian's
# packages and matplotlib from PyPI when they are missing. Work files and the
# raw results (results.json) go to target/bench/.
#
# One figure alone, without overwriting BENCHMARKS.md, e.g. the auto-restart:
#   make bench BENCH_ARGS='--only autorestart --md target/bench/autorestart.md'
# An earlier build beside this one (relay, signal flood and stray figures):
#   make bench BENCH_ARGS='--baseline path/to/old/sidecar-init'
PYTHON ?= python3
BENCH_ARGS ?=

.PHONY: bench
bench: build fixtures
	$(PYTHON) bench/bench.py --sidecar-init $(abspath $(BIN)) --standin $(abspath $(STANDIN)) $(BENCH_ARGS)
