# make bench: sidecar-init side by side with tini, dumb-init, catatonit, s6 and
# supervisord, each as PID 1 of a fresh PID namespace -> BENCHMARKS.md and
# bench/benchmarks.png. Needs root; installs the other inits from Debian's
# packages and matplotlib from PyPI when they are missing. Work files and the
# raw results (results.json) go to target/bench/.
#
# One figure alone, without overwriting BENCHMARKS.md, e.g. the auto-restart:
#   make bench BENCH_ARGS='--only autorestart --md target/bench/autorestart.md'
# The control socket's client runs (issue 11): status round trip and restart
# by request, beside supervisorctl, s6 and runit (--quick: fewer runs):
#   make bench BENCH_ARGS='--only control --md target/bench/control.md --json target/bench/control.json'
# and its section into BENCHMARKS.md, the rest of the file kept (other runs'
# results files after it add a run-to-run table):
#   python3 bench/report.py --merge-control target/bench/control.json BENCHMARKS.md
# An earlier build beside this one (relay, signal flood and stray figures):
#   make bench BENCH_ARGS='--baseline path/to/old/sidecar-init'
PYTHON ?= python3
BENCH_ARGS ?=

.PHONY: bench
bench: build fixtures
	$(PYTHON) bench/bench.py --sidecar-init $(abspath $(BIN)) --standin $(abspath $(STANDIN)) $(BENCH_ARGS)

# make bench-spawn: the spawn's clone (issue #15), vfork vs fork vs CLONE_VM
# without CLONE_VFORK, idle and with every CPU busy (bench/spawn.c); prints
# one line per mode: PID 1 blocked p50 p99, clone -> exec'd p50 p99 (µs).
SPAWN_RUNS ?= 2000
.PHONY: bench-spawn
bench-spawn:
	@mkdir -p target/bench
	$(if $(shell command -v musl-gcc),musl-gcc,cc) -static -O2 -o target/bench/bench-spawn bench/spawn.c
	@for load in "" "busy 4"; do for mode in vfork fork vm; do \
	  target/bench/bench-spawn $$mode $(SPAWN_RUNS) $$load; done; echo "($${load:-idle})"; done
