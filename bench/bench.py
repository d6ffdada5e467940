#!/usr/bin/env python3
"""make bench: sidecar-init side by side with tini, dumb-init, catatonit, s6 and
supervisord, each run as PID 1 of a fresh PID namespace on this machine, in
one run. Writes BENCHMARKS.md (and bench/benchmarks.png) at the repository's
root. A benchmark, not a test: it asserts nothing, it measures and reports.

Needs root (unshare --pid, nsenter). Installs what is missing from Debian's
packages (tini, dumb-init, catatonit, s6, supervisor, file, musl-tools) and
matplotlib from PyPI. Every daemon is bench/helper.c, built static here: it
reads CLOCK_MONOTONIC at its first instruction and appends it to a report
file, so "exec'd" times come from the daemons themselves, not from polling.

`--only autorestart` (any comma-separated list of figures) runs some figures
only; with `--md` elsewhere than BENCHMARKS.md their table can be merged into
the committed file by hand.

`--only control` (issue 11): the control socket's client runs. `sidecar-init
status` and `health` against a running init, timed fork to reap by
`bench-helper time`, beside `supervisorctl status`, `s6-svstat` and `sv
status`; `sidecar-init restart SLOT` -> the new daemon's exec, beside
`supervisorctl restart`, `s6-svc -r` and `sv restart`. Its section, "Control
socket (issue 11)", comes whole out of report.control().
"""

import argparse
import datetime
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "bench"
HELPER = WORK / "bench-helper"
SLOTS = ["egress", "pipelock", "git-gate", "supervise"]
PLOT = ROOT / "bench" / "benchmarks.png"
REPORT_MD = ROOT / "BENCHMARKS.md"
DEB = {  # command that must exist -> Debian package that brings it
    "tini-static": "tini",
    "dumb-init": "dumb-init",
    "catatonit": "catatonit",
    "s6-svscan": "s6",
    "supervisord": "supervisor",
    "runsvdir": "runit",
    "file": "file",
    "musl-gcc": "musl-tools",
    "nsenter": "util-linux",
}
MB = 1_000_000


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def now():
    return time.monotonic_ns()  # CLOCK_MONOTONIC, the helper's clock


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def p90(xs):
    """Nearest rank: the smallest sample with 90 % of them at or below it."""
    xs = sorted(x for x in xs if x is not None)
    return xs[max(0, -(-9 * len(xs) // 10) - 1)] if xs else None


# ---------------------------------------------------------------- setup


def ensure_packages():
    missing = sorted({pkg for cmd, pkg in DEB.items() if not shutil.which(cmd)})
    if not missing:
        return
    log(f"installing from Debian: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401

        return True
    except ImportError:
        pass
    log("installing matplotlib from PyPI")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"])
    if r.returncode != 0:
        log("matplotlib could not be installed: no plot this time")
        return False
    import importlib

    importlib.invalidate_caches()
    return True


def build_helper():
    WORK.mkdir(parents=True, exist_ok=True)
    src = ROOT / "bench" / "helper.c"
    if HELPER.exists() and HELPER.stat().st_mtime > src.stat().st_mtime:
        return
    cc = ["musl-gcc"] if shutil.which("musl-gcc") else ["gcc"]
    subprocess.run([*cc, "-static", "-O2", "-o", str(HELPER), str(src)], check=True)


def sh(*argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip()


def deb_version(pkg):
    return sh("dpkg-query", "-W", "-f", "${Version}", pkg) or "?"


def machine():
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    osname = "?"
    if Path("/etc/os-release").exists():
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "memory_gib": round(mem / 1024 / 1024, 1),
        "os": osname,
        "load_at_start": open("/proc/loadavg").read().split()[:3],
    }


# ---------------------------------------------------------------- /proc


def proc_status(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            out[k] = v.strip()
    except OSError:
        pass
    return out


def rss_kib(pid):
    v = proc_status(pid).get("VmRSS")
    return int(v.split()[0]) if v else None


def ctxt(pid):
    st = proc_status(pid)
    try:
        return int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"])
    except KeyError:
        return None


def cpu_ns(pid):
    return int(open(f"/proc/{pid}/schedstat").read().split()[0])


def children(pid):
    try:
        return [int(x) for x in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return "?"


def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


DAEMON_COMMS = {"bench-helper", "run", "standin"}


# ---------------------------------------------------------------- inits


class Init:
    """One init under test: how to run it as PID 1 with some daemons."""

    key = label = ""
    multi = True  # runs four daemons; False: one child only
    pump = False  # reads its daemons' output and writes it itself
    restart = None  # how an operator restarts one daemon, or None

    def files(self):
        return []  # what is on disk: (path, note)

    def setup(self, run_dir, daemons, autorestart=()):
        """daemons: [(name, argv)]; autorestart: names the init restarts on its
        own when they die, as fast as it can. Returns (argv, extra env)."""
        raise NotImplementedError

    def restart_cmd(self, ns, name):
        raise NotImplementedError


class SidecarInit(Init):
    key, label, pump = "sidecar-init", "sidecar-init", True
    restart = "SIGUSR1 to PID 1"

    def __init__(self, path):
        self.path = path

    def files(self):
        return [(self.path, "")]

    def setup(self, run_dir, daemons, autorestart=()):
        env = {"CLAUDE_BOTTLE_SIDECAR_DAEMONS": ",".join(n for n, _ in daemons)}
        for name, argv in daemons:
            env["CLAUDE_BOTTLE_SIDECAR_CMD_" + name.upper().replace("-", "_")] = " ".join(argv)
        env["CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX"] = "1"
        # A control socket of its own (issue 11): the default @sidecar-init lives in
        # the host's network namespace here, which tests running beside the bench
        # use too. An init from before the control socket ignores the variable.
        env["CLAUDE_BOTTLE_SIDECAR_CONTROL"] = f"@bench-{os.getpid()}-{run_dir.name}"
        if autorestart:
            env["CLAUDE_BOTTLE_SIDECAR_RESTART"] = ",".join(autorestart)
            env["CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY_MS"] = "0"  # no backoff: the init's own latency
            env["CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT"] = "0"  # never failed, however many quick deaths
        return [str(self.path)], env

    def restart_cmd(self, ns, name):
        assert name == "pipelock"
        os.kill(ns.pid, signal.SIGUSR1)


class SingleChild(Init):
    multi = False

    def __init__(self, key, path, pre, post):
        self.key = self.label = key
        self.path, self.pre, self.post = path, pre, post

    def files(self):
        return [(self.path, "")]

    def setup(self, run_dir, daemons, autorestart=()):
        assert len(daemons) == 1 and not autorestart
        return [self.path, *self.pre, *self.post, *daemons[0][1]], {}


class Floor(Init):
    """Not an init to pick: a PID 1 that only blocks in wait(), the floor of reaping."""

    key = label = "floor"
    multi = False

    def setup(self, run_dir, daemons, autorestart=()):
        return [str(HELPER), "reaper", *daemons[0][1]], {}


def write_run(d, argv):
    """A service directory's `run` for s6 and runit: the helper itself for an idle daemon, else a script."""
    if argv[1:2] == ["daemon"]:
        (d / "run").symlink_to(HELPER)  # the helper names itself after the dir
    else:
        (d / "run").write_text("#!/bin/sh\nexec " + " ".join(argv) + "\n")
        (d / "run").chmod(0o755)


class S6(Init):
    key, label = "s6", "s6-svscan"
    restart = "`s6-svc -r`"

    def files(self):
        return [(shutil.which("s6-svscan"), ""), (shutil.which("s6-supervise"), "one per daemon")]

    def setup(self, run_dir, daemons, autorestart=()):
        # s6-supervise restarts every service that dies: autorestart needs nothing.
        scan = run_dir / "scan"
        env = {}
        for name, argv in daemons:
            d = scan / name
            d.mkdir(parents=True)
            if argv[1:2] == ["die"]:
                assert "BENCH_DIE" not in env, "one dying service at a time"
                (d / "run").symlink_to(HELPER)
                env["BENCH_DIE"] = f"{name}:{argv[3]}"  # no shell in between, as for the others
            else:
                write_run(d, argv)
        self.scan = scan
        return [shutil.which("s6-svscan"), str(scan)], env

    def restart_cmd(self, ns, name):
        subprocess.run(["s6-svc", "-r", str(ns.run_dir / "scan" / name)], check=True)


class Runit(Init):
    key, label = "runsvdir", "runsvdir"
    restart = "`sv restart`"

    def files(self):
        return [(shutil.which("runsvdir"), ""), (shutil.which("runsv"), "one per daemon")]

    def setup(self, run_dir, daemons, autorestart=()):
        assert not autorestart
        scan = run_dir / "service"
        for name, argv in daemons:
            d = scan / name
            d.mkdir(parents=True)
            write_run(d, argv)
        return [shutil.which("runsvdir"), str(scan)], {}

    def restart_cmd(self, ns, name):
        subprocess.run(["sv", "restart", str(ns.run_dir / "service" / name)], check=True, stdout=subprocess.DEVNULL)


class Supervisord(Init):
    key, label, pump = "supervisord", "supervisord", True
    restart = "`supervisorctl restart`"

    def files(self):
        return [(shutil.which("supervisord"), "")]

    def setup(self, run_dir, daemons, autorestart=()):
        conf = run_dir / "supervisord.conf"
        text = f"""[supervisord]
nodaemon=true
silent=true
user=root
logfile={run_dir}/supervisord.log
pidfile={run_dir}/supervisord.pid
childlogdir={run_dir}

[unix_http_server]
file={run_dir}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{run_dir}/supervisor.sock
"""
        for name, argv in daemons:
            text += f"""
[program:{name}]
command={" ".join(argv)}
startsecs=0
autorestart={"true" if name in autorestart else "unexpected"}
startretries=1000
stopsignal=TERM
stopwaitsecs=8
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
redirect_stderr=true
"""
        conf.write_text(text)
        self.conf = conf
        return [shutil.which("supervisord"), "-n", "-c", str(conf)], {}

    def restart_cmd(self, ns, name):
        subprocess.run(
            ["supervisorctl", "-c", str(ns.run_dir / "supervisord.conf"), "restart", name],
            check=True,
            stdout=subprocess.DEVNULL,
        )


# ---------------------------------------------------------------- a namespace


class Ns:
    """One init as PID 1 of a new PID (and mount, for its /proc) namespace."""

    counter = 0
    live = set()  # closed at exit whatever happens, so no namespace outlives the bench

    def __init__(self, init, daemons, stdout=subprocess.DEVNULL, autorestart=()):
        Ns.counter += 1
        self.init = init
        self.run_dir = WORK / "runs" / f"{Ns.counter:03d}-{init.key}"
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        self.report = self.run_dir / "report.log"
        argv, extra = init.setup(self.run_dir, daemons, autorestart)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "BENCH_REPORT": str(self.report), "LANG": "C.UTF-8"}
        env.update(extra)
        self.env = env
        self.err = open(self.run_dir / "stderr.log", "wb")
        cmd = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", str(HELPER), "launch", *argv]
        self.outer = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=self.err)
        deadline = time.monotonic() + 10
        while True:
            kids = children(self.outer.pid)
            if kids and comm(kids[0]) != "unshare":
                self.pid = kids[0]
                break
            if self.outer.poll() is not None or time.monotonic() > deadline:
                self.outer.kill()  # --kill-child takes PID 1 along
                self.outer.wait()
                raise RuntimeError(f"{init.key}: no PID 1 came up (see {self.run_dir})")
            time.sleep(0.0005)
        self.pidfd = os.pidfd_open(self.pid)
        Ns.live.add(self)

    def lines(self):
        try:
            return [l.split() for l in self.report.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def launch_t(self):
        for l in self.lines():
            if l[0] == "launch":
                return int(l[2])
        return None

    def starts(self):
        return [(l[1], int(l[2]), int(l[3])) for l in self.lines() if l[0] == "start"]

    def deaths(self):
        return [(l[1], int(l[2]), int(l[3])) for l in self.lines() if l[0] == "death"]

    def wait_for(self, pred, timeout=10.0, what="event"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            if self.exited(0):
                break
            time.sleep(0.01)  # times come from the daemons: no need to poll hard
        raise RuntimeError(f"{self.init.key}: timed out waiting for {what} (see {self.run_dir})")

    def wait_starts(self, n, timeout=10.0):
        def enough():
            s = self.starts()
            return s if len(s) >= n else None

        return self.wait_for(enough, timeout, f"{n} daemon(s)")

    def exited(self, timeout_s):
        p = select.poll()
        p.register(self.pidfd, select.POLLIN)
        return bool(p.poll(timeout_s * 1000))

    def stop(self, timeout=15.0):
        """SIGTERM to PID 1; nanoseconds from the signal until PID 1 has exited."""
        t0 = now()
        os.kill(self.pid, signal.SIGTERM)
        done = self.exited(timeout)
        t1 = now()
        self.close()
        return (t1 - t0) if done else None

    def close(self):
        if self not in Ns.live:
            return
        Ns.live.discard(self)
        if not self.exited(0):
            os.kill(self.pid, signal.SIGKILL)
        try:
            self.outer.wait(10)
        except subprocess.TimeoutExpired:
            self.outer.kill()
            self.outer.wait()
        os.close(self.pidfd)
        self.err.close()

    def helpers(self):
        """The ns's processes other than PID 1 and the daemons: supervision helpers."""
        return [p for p in tree(self.pid)[1:] if comm(p) not in DAEMON_COMMS]


def idle_daemons(init):
    names = SLOTS if init.multi else SLOTS[:1]
    return [(n, [str(HELPER), "daemon", n]) for n in names]


# ---------------------------------------------------------------- figures


def fig_size(inits):
    out = {}
    for init in inits:
        files = []
        for path, note in init.files():
            path = os.path.realpath(path)
            desc = sh("file", "-b", path)
            if "statically linked" in desc or "static-pie" in desc:
                kind = "static"
            elif "dynamically linked" in desc:
                kind = "dynamic"
            elif "script" in desc:
                kind = "script"
            else:
                kind = desc.split(",")[0]
            files.append({"path": path, "bytes": os.path.getsize(path), "kind": kind, "file": desc, "note": note})
        out[init.key] = {"files": files}
    # supervisord is a Python program: count its package and name the interpreter.
    if "supervisord" in out:
        pkg = 0
        for line in sh("dpkg", "-L", "supervisor").splitlines():
            if "/supervisor/" in line and line.endswith(".py") and "/tests/" not in line and os.path.isfile(line):
                pkg += os.path.getsize(line)
        py = os.path.realpath("/usr/bin/python3")
        out["supervisord"]["package_py_bytes"] = pkg
        out["supervisord"]["python"] = {"path": py, "bytes": os.path.getsize(py)}
    return out


def fig_start_stop(inits, runs, slow_runs):
    """Rounds: each init once a round, so a noisy moment does not hit one init only."""
    out = {i.key: {"start_ns": [], "stop_ns": [], "termed": [], "daemons": len(idle_daemons(i)), "errors": []} for i in inits}
    for rnd in range(runs):
        for init in inits:
            if init.key == "supervisord" and rnd >= slow_runs:
                continue  # seconds a run
            r = out[init.key]
            ns = Ns(init, idle_daemons(init))
            try:
                marks = ns.wait_starts(r["daemons"])
                r["start_ns"].append(max(t for _, _, t in marks) - ns.launch_t())
                time.sleep(0.25)  # settle: every init is idle again
                r["stop_ns"].append(ns.stop())
                r["termed"].append(sum(1 for l in ns.lines() if l[0] == "term"))
            except RuntimeError as e:
                r["errors"].append(str(e))
                ns.close()
    for k, r in out.items():
        log(f"start/stop {k}: start {fmt_ms(median(r['start_ns']))}, stop {fmt_ms(median(r['stop_ns']))}")
    return out


def fig_restart(inits, runs, spacing):
    out = {}
    for init in inits:
        if not init.restart:
            continue
        ns = Ns(init, idle_daemons(init))
        samples, bad = [], []
        try:
            ns.wait_starts(4)
            time.sleep(spacing)
            for _ in range(runs):
                before = len([s for s in ns.starts() if s[0] == "pipelock"])
                t0 = now()
                init.restart_cmd(ns, "pipelock")
                try:
                    new = ns.wait_for(
                        lambda: [s for s in ns.starts() if s[0] == "pipelock"][before:], 10.0, "pipelock's replacement"
                    )
                    samples.append(new[0][2] - t0)
                except RuntimeError as e:
                    bad.append(str(e))
                time.sleep(spacing)  # s6-supervise waits 1 s between two starts of ./run
            others = [s for s in ns.starts() if s[0] != "pipelock"]
        finally:
            ns.stop()
        out[init.key] = {"restart_ns": samples, "errors": bad, "siblings_started": len(others)}
        log(f"restart {init.key}: {fmt_ms(median(samples))}")
    return out


def fig_autorestart(inits, runs, lifetimes_ms):
    """A daemon that dies on its own after `lifetime` ms, again and again; the
    init restarts it by itself. Each sample: the helper's timestamp right before
    its _exit(1) -> the replacement's first instruction. One namespace per init
    and lifetime, the first `runs` deaths in it; pipelock dies, the other three
    daemons stay idle."""
    out = {}
    for life in lifetimes_ms:
        per = out[str(life)] = {}
        for init in inits:
            if not init.restart:
                continue  # no restart at all: tini, dumb-init, catatonit
            daemons = [(n, a) if n != "pipelock" else (n, [str(HELPER), "die", n, str(life)]) for n, a in idle_daemons(init)]
            ns = Ns(init, daemons, autorestart=("pipelock",))
            r = per[init.key] = {"restart_ns": [], "lived_ns": [], "errors": [], "siblings_started": 0}
            try:
                # the first start plus one replacement per death
                ns.wait_starts(len(daemons) + runs, timeout=runs * (life / 1000 + 1.5) + 15)
                starts = sorted((t, pid) for n, pid, t in ns.starts() if n == "pipelock")
                deaths = sorted((t, pid) for n, pid, t in ns.deaths() if n == "pipelock")
                born = {pid: t for t, pid in starts}
                for td, pid in deaths[:runs]:
                    nxt = [(t, p) for t, p in starts if t > td]
                    if not nxt:
                        r["errors"].append(f"no replacement after the death of pid {pid}")
                        continue
                    r["restart_ns"].append(nxt[0][0] - td)
                    r["lived_ns"].append(td - born[pid])
                r["siblings_started"] = len([s for s in ns.starts() if s[0] != "pipelock"])
            except RuntimeError as e:
                r["errors"].append(str(e))
            finally:
                ns.stop()
            log(
                f"autorestart {init.key}, lived {life} ms: median {fmt_ms(median(r['restart_ns']))}, "
                f"p90 {fmt_ms(p90(r['restart_ns']))} over {len(r['restart_ns'])} deaths"
            )
    return out


def fig_idle(inits, windows, seconds):
    """All inits at once, each with its idle daemons; count PID 1's context switches.
    sidecar-init also has an idle `events` client attached for the whole window
    (SPEC's footprint: four idle daemons, a control socket and an idle `events`
    client): `sidecar-init events` run outside the namespace against the init's
    own control name (an abstract socket, shared network namespace), its output
    to a file; it must still be running at the window's end, and once PID 1 is
    stopped it must have had the shutdown's events, so it was subscribed all along."""
    nss = [Ns(init, idle_daemons(init)) for init in inits]
    out = {i.key: {"ctxt": [], "rss_kib": [], "helpers_ctxt": [], "helpers_rss_kib": [], "helpers": 0} for i in inits}
    clients = {}  # init key -> (Popen, output path)
    try:
        for ns in nss:
            ns.wait_starts(len(idle_daemons(ns.init)))
        for ns in nss:
            if isinstance(ns.init, SidecarInit):
                path = ns.run_dir / "events.out"
                env = {"PATH": ns.env["PATH"], "CLAUDE_BOTTLE_SIDECAR_CONTROL": ns.env["CLAUDE_BOTTLE_SIDECAR_CONTROL"]}
                with open(path, "wb") as f:
                    p = subprocess.Popen(
                        [str(ns.init.path), "events"], env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT
                    )
                clients[ns.init.key] = (p, path)
        time.sleep(1.0)  # settling, the events client's connect and `ok` included
        for key, (p, _) in clients.items():
            if p.poll() is not None:
                raise RuntimeError(f"{key}: the idle events client exited before the window (code {p.returncode})")
            out[key]["events_client"] = {"pid": p.pid}
        for w in range(windows):
            before = {ns.init.key: (ctxt(ns.pid), {p: ctxt(p) for p in ns.helpers()}) for ns in nss}
            cbefore = {k: ctxt(p.pid) for k, (p, _) in clients.items()}
            time.sleep(seconds)
            for ns in nss:
                c0, h0 = before[ns.init.key]
                r = out[ns.init.key]
                r["ctxt"].append(ctxt(ns.pid) - c0)
                r["rss_kib"].append(rss_kib(ns.pid))
                h1 = {p: ctxt(p) for p in ns.helpers()}
                r["helpers_ctxt"].append(sum(h1[p] - h0.get(p, 0) for p in h1))
                r["helpers_rss_kib"].append(sum(rss_kib(p) or 0 for p in h1))
                r["helpers"] = len(h1)
            for k, (p, _) in clients.items():
                ec = out[k]["events_client"]
                ec.setdefault("alive_at_window_end", []).append(p.poll() is None)
                c1 = ctxt(p.pid)
                ec.setdefault("ctxt", []).append(c1 - cbefore[k] if c1 is not None and cbefore[k] is not None else None)
                try:
                    ec["wchan"] = open(f"/proc/{p.pid}/wchan").read().strip()
                except OSError:
                    ec["wchan"] = None
            log(f"idle window {w + 1}/{windows} done")
    finally:
        for ns in nss:
            ns.stop()
        for k, (p, path) in clients.items():
            try:
                code = p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                code = p.wait()
            if k in out and "events_client" in out[k]:
                text = path.read_text(errors="replace")
                ec = out[k]["events_client"]
                ec["exit_code"] = code
                # what it had before the stop: nothing; the stop's own events show it was still subscribed
                ec["events_before_stop"] = sum(1 for l in text.splitlines() if '"shutdown"' not in l and '"exit' not in l)
                ec["saw_shutdown"] = '"event":"shutdown"' in text
                ec["saw_exit"] = '"event":"exit"' in text
    for k, r in out.items():
        log(f"idle {k}: {r['ctxt']} switches, RSS {r['rss_kib']} KiB, helpers {r['helpers']}: {r['helpers_rss_kib']} KiB")
        if "events_client" in r:
            log(f"idle {k}: events client {r['events_client']}")
    return out


def fig_reap(inits, runs, orphans, standin, slow):
    """PID 1's CPU time (schedstat) per orphan it reaps. All namespaces stay up
    and the runs go round them, so a noisy moment does not hit one init only.
    `slow`: init key -> (orphans, runs) for one that drains them too slowly."""
    out, nss = {}, []
    try:
        for init in inits:
            ns = Ns(init, idle_daemons(init))
            ns.wait_starts(len(idle_daemons(init)))
            nss.append(ns)
            n, k = slow.get(init.key, (orphans, runs))
            out[init.key] = {
                "ns_per_orphan": [],
                "wall_ns": [],
                "switches_per_orphan": [],
                "orphans": n,
                "runs": k,
                "base": set(children(ns.pid)),
                "errors": [],
            }
        time.sleep(0.5)
        for rnd in range(runs):
            for ns in nss:
                r = out[ns.init.key]
                if rnd >= r["runs"]:
                    continue
                n = r["orphans"]
                c0, t0, w0 = cpu_ns(ns.pid), now(), ctxt(ns.pid)
                p = subprocess.run(
                    ["nsenter", "-t", str(ns.pid), "-p", "-m", "--", str(standin), "orphans", "--orphans", str(n), "--exit", "0"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env={"PATH": "/usr/bin:/bin"},
                    timeout=300,
                )
                # every orphan is reaped once PID 1 has only its own children left
                try:
                    ns.wait_for(lambda: set(children(ns.pid)) <= r["base"], 60.0, "the orphans to be reaped")
                except RuntimeError as e:
                    r["errors"].append(str(e))
                    continue
                c1, t1, w1 = cpu_ns(ns.pid), now(), ctxt(ns.pid)
                if f"orphans {n} done" not in p.stdout:
                    r["errors"].append(p.stdout.strip()[-200:])
                    continue
                r["ns_per_orphan"].append((c1 - c0) / n)
                r["wall_ns"].append(t1 - t0)
                r["switches_per_orphan"].append((w1 - w0) / n)
    finally:
        for ns in nss:
            ns.stop()
    for k, r in out.items():
        del r["base"]
        log(
            f"reap {k}: {fmt_us(median(r['ns_per_orphan']))} per orphan, "
            f"{median(r['switches_per_orphan']) or 0:.2f} switches per orphan"
        )
    return out


def sink_saw_all(path):
    try:
        return any(l.startswith("sink ") for l in path.read_text().splitlines())
    except FileNotFoundError:
        return False


def pump_run(init, line_len, total, chunk):
    """One flood of `total` bytes in lines of `line_len`; returns (MB/s, details)."""
    lines = total // line_len
    total = lines * line_len
    flood = [str(HELPER), "flood", str(total), str(line_len), str(chunk)]
    rpipe, wpipe = os.pipe()
    if init is None:  # plain pipe copy: flood | copy | sink, outside any init
        report = WORK / "runs" / "pipecopy.log"
        report.unlink(missing_ok=True)
        env = {"BENCH_REPORT": str(report)}
        sink = subprocess.Popen([str(HELPER), "sink", str(lines)], stdin=rpipe, env=env)
        r2, w2 = os.pipe()
        copy = subprocess.Popen([str(HELPER), "copy"], stdin=r2, stdout=wpipe, env=env)
        fl = subprocess.Popen(flood, stdout=w2, env=env)
        for fd in (rpipe, wpipe, r2, w2):
            os.close(fd)
        fl.wait(120)
        _, _, ru = os.wait4(copy.pid, 0)
        copy.returncode = 0
        cpu = int((ru.ru_utime + ru.ru_stime) * 1e9)
        sink.wait(120)
        rep = [l.split() for l in report.read_text().splitlines()]
    else:
        sinkrep = WORK / "runs" / "sink.log"
        sinkrep.unlink(missing_ok=True)
        sink = subprocess.Popen(
            [str(HELPER), "sink", str(lines)], stdin=rpipe, env={"BENCH_REPORT": str(sinkrep)}
        )
        os.close(rpipe)
        # Three idle siblings, as in the bundle: PID 1 polls every pipe, and
        # outlives the flood, so its CPU time can be read at the end.
        idle = [(n, [str(HELPER), "daemon", n]) for n in SLOTS[1:]]
        ns = Ns(init, [("egress", flood), *idle], stdout=wpipe)
        os.close(wpipe)
        deadline = time.monotonic() + 120
        try:
            while not sink_saw_all(sinkrep):
                if sink.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{init.key}: the flood did not arrive whole (see {ns.run_dir})")
                time.sleep(0.01)
            cpu = cpu_ns(ns.pid)  # PID 1's whole life: start-up is noise next to the flood
        finally:
            if not ns.exited(0):
                ns.stop()
            else:
                ns.close()
        sink.wait(30)
        rep = [l.split() for l in ns.report.read_text().splitlines()] + [
            l.split() for l in sinkrep.read_text().splitlines()
        ]
    fl_line = next(l for l in rep if l[0] == "flood")
    sk_line = next(l for l in rep if l[0] == "sink")
    t0, sent = int(fl_line[1]), int(fl_line[3])
    t_last, got_bytes, got_lines = int(sk_line[1]), int(sk_line[2]), int(sk_line[3])
    mbps = sent / MB / ((t_last - t0) / 1e9)
    eof = [l for l in rep if l[0] == "sinkeof"]
    detail = {
        "sent_bytes": sent,
        "lines": lines,
        "got_bytes": got_bytes,
        "got_lines": got_lines,
        "eof_lines": int(eof[0][3]) if eof else None,
        "cpu_ms_per_100mb": cpu / 1e6 * (100 * MB / sent),
    }
    return mbps, detail


def fig_pump(pumps, table_len, table_bytes, plot_lens, plot_bytes, runs, plot_runs, chunk):
    """Rounds interleave the configurations, so a noisy moment hits them all
    alike; the ratio to the pipe copy is taken within each round."""
    out = {"table_len": table_len, "table": {}, "plot": {}, "ratio_to_pipe": {}}
    configs = [("pipe copy", None)] + [(i.key, i) for i in pumps]
    for key, _ in configs:
        out["table"][key] = {"mbps": [], "details": []}
        out["plot"][key] = {n: {"mbps": [], "details": []} for n in plot_lens}
    for _ in range(runs):
        for key, init in configs:
            mbps, detail = pump_run(init, table_len, table_bytes, chunk)
            out["table"][key]["mbps"].append(mbps)
            out["table"][key]["details"].append(detail)
    for key, _ in configs[1:]:
        pipe = out["table"]["pipe copy"]["mbps"]
        out["ratio_to_pipe"][key] = [a / b for a, b in zip(out["table"][key]["mbps"], pipe)]
        log(
            f"pump {key}: {median(out['table'][key]['mbps']):.0f} MB/s at {table_len}-byte lines, "
            f"{100 * median(out['ratio_to_pipe'][key]):.0f} % of the pipe copy ({median(pipe):.0f} MB/s)"
        )
    for _ in range(plot_runs):
        for n in plot_lens:
            for key, init in configs:
                mbps, detail = pump_run(init, n, plot_bytes, chunk)
                out["plot"][key][n]["mbps"].append(mbps)
                out["plot"][key][n]["details"].append(detail)
    for key, _ in configs:
        pts = out["plot"][key]
        log(f"pump plot {key}: " + ", ".join(f"{n}:{median(p['mbps']):.0f}" for n, p in pts.items()))
    return out


# ---------------------------------------------------------------- issue 15: relay and latency under load


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


def own_cpu_s():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Load:
    """The machine's load over a section: how busy both cores were (every
    process, the other users of this machine included) and the load average."""

    def __init__(self, own=False):
        # own: also the CPU time of the bench and the processes it has reaped
        # (its clients); not where the work is inside the namespaces, whose
        # processes are PID 1's children, not the bench's.
        self.own = own

    def __enter__(self):
        self.start = cpu_jiffies()
        self.own_start = own_cpu_s()
        self.avg_start = open("/proc/loadavg").read().split()[:3]
        return self

    def __exit__(self, *exc):
        busy, total = cpu_jiffies()
        db, dt = busy - self.start[0], total - self.start[1]
        own = own_cpu_s() - self.own_start
        self.result = {
            "busy_pct": round(100 * db / dt, 1) if dt else None,
            "loadavg_start": self.avg_start,
            "loadavg_end": open("/proc/loadavg").read().split()[:3],
        }
        if self.own and dt:
            self.result["own_pct"] = round(100 * own * os.sysconf("SC_CLK_TCK") / dt, 1)
        return False


def flood_argv():
    """A daemon writing 100-byte lines in 64 KiB writes for as long as it lives."""
    return [str(HELPER), "flood", str(10**14), "100", "65536"]


def load_daemons(init, flood):
    """The bundle's four daemons (one for single-child inits); with `flood`,
    egress floods its stdout (the single child floods itself)."""
    ds = idle_daemons(init)
    if flood:
        ds[0] = (ds[0][0], flood_argv())
    return ds


class Sink:
    """A reader of PID 1's stdout that takes everything, as Docker's would."""

    def __enter__(self):
        r, self.w = os.pipe()
        self.p = subprocess.Popen([str(HELPER), "sink", "0"], stdin=r, env={})
        os.close(r)
        return self

    def __exit__(self, *exc):
        os.close(self.w)
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return False


def fig_relay(pumps, runs, total, chunks):
    """100-byte lines written in `chunk`-byte writes: MB/s as a share of a
    plain pipe copy in the same round, and CPU time per 100 MB of the relay
    (PID 1's for the inits, the copier's for the pipe copy)."""
    out = {"runs": runs, "chunks": {}}
    configs = [("pipe copy", None)] + [(i.key, i) for i in pumps]
    for chunk in chunks:
        tot = total if chunk >= 4096 else total // 4  # 100-byte writes: a syscall a line
        r = {k: {"mbps": [], "ratio": [], "cpu_ms_per_100mb": [], "lost": 0} for k, _ in configs}
        with Load() as load:
            for _ in range(runs):
                pipe = None
                for key, init in configs:
                    mbps, d = pump_run(init, 100, tot, chunk)
                    pipe = mbps if init is None else pipe
                    r[key]["mbps"].append(mbps)
                    r[key]["ratio"].append(mbps / pipe)
                    r[key]["cpu_ms_per_100mb"].append(d["cpu_ms_per_100mb"])
                    r[key]["lost"] += d["got_lines"] < d["lines"]
        out["chunks"][str(chunk)] = {"bytes": tot, "results": r, "load": load.result}
        for key, _ in configs:
            log(
                f"relay {chunk}-byte writes {key}: {median(r[key]['mbps']):.0f} MB/s, "
                f"{100 * median(r[key]['ratio']):.0f} % of the pipe copy, "
                f"{median(r[key]['cpu_ms_per_100mb']):.0f} ms CPU/100 MB"
            )
    return out


def restart_samples(init, ns, runs, spacing):
    samples, bad = [], []
    for _ in range(runs):
        before = len([s for s in ns.starts() if s[0] == "pipelock"])
        t0 = now()
        init.restart_cmd(ns, "pipelock")
        try:
            new = ns.wait_for(lambda: [s for s in ns.starts() if s[0] == "pipelock"][before:], 10.0, "replacement")
            samples.append(new[0][2] - t0)
        except RuntimeError as e:
            bad.append(str(e))
        time.sleep(spacing)
    return samples, bad


def fig_latency(inits, restart_runs, stop_runs, settle):
    """Restart (operator's action -> replacement exec'd) and stop (SIGTERM ->
    PID 1 exited), idle and while a sibling floods its stdout through PID 1
    (or straight to the container's stdout, for inits without a log relay)."""
    out = {"restart": {}, "stop": {}, "load": {}}
    for mode in ("idle", "flood"):
        with Load() as load:
            for init in inits:
                if not init.restart:
                    continue
                runs, spacing = restart_runs.get(init.key, restart_runs["default"])
                with Sink() as sink:
                    ns = Ns(init, load_daemons(init, mode == "flood"), stdout=sink.w)
                    try:
                        ns.wait_starts(3 if mode == "flood" else 4)
                        time.sleep(settle)
                        samples, bad = restart_samples(init, ns, runs, spacing)
                    finally:
                        ns.stop()
                out["restart"].setdefault(init.key, {})[mode] = {"ns": samples, "errors": bad}
                log(f"restart {mode} {init.key}: p50 {fmt_ms(median(samples))}, p99 {fmt_ms(pct(samples, 99))}")
        out["load"]["restart " + mode] = load.result
        with Load() as load:
            for rnd in range(max(stop_runs.values())):
                for init in inits:
                    if rnd >= stop_runs.get(init.key, stop_runs["default"]):
                        continue
                    r = out["stop"].setdefault(init.key, {}).setdefault(mode, {"ns": [], "errors": []})
                    with Sink() as sink:
                        ns = Ns(init, load_daemons(init, mode == "flood"), stdout=sink.w)
                        try:
                            want = len(idle_daemons(init)) - (mode == "flood")
                            if want:
                                ns.wait_starts(want)
                            time.sleep(settle)
                            r["ns"].append(ns.stop())
                        except RuntimeError as e:
                            r["errors"].append(str(e))
                            ns.close()
        out["load"]["stop " + mode] = load.result
        for k, per in out["stop"].items():
            xs = per.get(mode, {}).get("ns", [])
            log(f"stop {mode} {k}: p50 {fmt_ms(median(xs))}, p99 {fmt_ms(pct(xs, 99))}")
    return out


def nsenter(ns, *argv):
    env = {"BENCH_REPORT": str(ns.report), "PATH": "/usr/bin:/bin"}
    return subprocess.Popen(["nsenter", "-t", str(ns.pid), "-p", "-m", "--", str(HELPER), *argv], env=env)


def fig_sigflood(inits, runs, signals):
    """SIGTERM to PID 1 half-way through a flood of SIGCHLDs sent to it by a
    process of its namespace that is not its child -> PID 1 exited."""
    out = {"signals": signals, "inits": {}}
    with Load() as load:
        for _ in range(runs):
            for init in inits:
                r = out["inits"].setdefault(init.key, {"ns": [], "errors": []})
                ns = Ns(init, idle_daemons(init))
                try:
                    ns.wait_starts(len(idle_daemons(init)))
                    fl = nsenter(ns, "sigflood", str(signals), str(int(signal.SIGCHLD)))
                    ns.wait_for(lambda: any(l[0] == "sigflood-half" for l in ns.lines()), 30, "half the signals")
                    r["ns"].append(ns.stop())
                    fl.wait(30)
                except RuntimeError as e:
                    r["errors"].append(str(e))
                    ns.close()
    out["load"] = load.result
    for k, r in out["inits"].items():
        log(f"sigflood {k}: p50 {fmt_ms(median(r['ns']))}")
    return out


def fig_stray(inits, runs, lives_ms):
    """A stop with a stray: a process of the namespace that is not PID 1's
    child and lives `lives_ms` past its SIGTERM (a `docker exec` cleaning up).
    Figure: the stray's death -> PID 1 exited."""
    out = {"lives_ms": lives_ms, "inits": {}}
    with Load() as load:
        for _ in range(runs):
            for init in inits:
                r = out["inits"].setdefault(init.key, {"ns": [], "errors": []})
                ns = Ns(init, idle_daemons(init))
                try:
                    ns.wait_starts(4)
                    st = nsenter(ns, "stray", str(lives_ms))
                    ns.wait_for(lambda: any(l[0] == "stray-up" for l in ns.lines()), 10, "the stray")
                    os.kill(ns.pid, signal.SIGTERM)
                    if not ns.exited(15):
                        raise RuntimeError(f"{init.key}: no exit")
                    t_exit = now()
                    st.wait(10)
                    death = [int(l[1]) for l in ns.lines() if l[0] == "stray-death"]
                    r["ns"].append(t_exit - death[0] if death else None)
                except RuntimeError as e:
                    r["errors"].append(str(e))
                finally:
                    ns.close()
    out["load"] = load.result
    for k, r in out["inits"].items():
        log(f"stray {k}: death -> exit p50 {fmt_ms(median([x for x in r['ns'] if x is not None]))}")
    return out


# ---------------------------------------------------------------- issue 11: the control socket


def timed(argv, n, env):
    """`bench-helper time`: n whole runs of a client (fork, exec, its answer,
    exit, reap), one after the other. Returns [(t0, t1, wait status, client CPU ns)]."""
    p = subprocess.run([str(HELPER), "time", str(n), *argv], env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"bench-helper time {argv[0]}: exit {p.returncode}: {p.stderr.strip()[-200:]}")
    return [tuple(int(x) for x in l.split()) for l in p.stdout.splitlines()]


def server_cpu_ns(ns):
    """CPU time of PID 1 and its supervision helpers (s6-supervise, runsv), not the daemons."""
    total = 0
    for pid in [ns.pid, *ns.helpers()]:
        try:
            total += cpu_ns(pid)
        except OSError:
            pass
    return total


def fig_control(sidecar, runs, slow_runs, batch, restart_rounds):
    """Issue 11. Status: an operator's (or a HEALTHCHECK's) client run, fork to
    reaped, against a running init with four idle daemons, beside
    `supervisorctl status`, `s6-svstat` and `sv status`; the rounds go round
    the clients, `batch` runs each, so a noisy moment hits them all. Restart:
    the request (the client's fork) -> the new daemon's first instruction."""
    s6, sup, rn = S6(), Supervisord(), Runit()
    out = {"status": {}, "restart": {}, "answers": {}, "runs": runs, "slow_runs": slow_runs, "batch": batch}
    out["binary"] = {
        "bytes": os.path.getsize(sidecar.path),
        "helper_bytes": os.path.getsize(HELPER),
        # the last commit of the code the binary is built from (the bench's own files aside)
        "commit": sh(
            "git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", ".",
            ":(exclude)bench", ":(exclude)BENCHMARKS.md", ":(exclude)mk/bench.mk",
        ),
    }
    nss = {}
    try:
        for init in (sidecar, sup, s6, rn):
            nss[init.key] = Ns(init, idle_daemons(init))
        for ns in nss.values():
            ns.wait_starts(4, timeout=15)
        time.sleep(1.0)  # supervisord: every program RUNNING (startsecs=0 still takes a round)
        si, sv, s6n, rnn = nss["sidecar-init"], nss["supervisord"], nss["s6"], nss["runsvdir"]
        si_env = {"PATH": "/usr/bin:/bin", "CLAUDE_BOTTLE_SIDECAR_CONTROL": si.env["CLAUDE_BOTTLE_SIDECAR_CONTROL"]}
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        s6dirs = [str(s6n.run_dir / "scan" / n) for n in SLOTS]
        rndirs = [str(rnn.run_dir / "service" / n) for n in SLOTS]
        sup_ctl = ["supervisorctl", "-c", str(sv.run_dir / "supervisord.conf")]
        s6x4 = []
        for d in s6dirs:
            s6x4 += [":::", "s6-svstat", d] if s6x4 else ["s6-svstat", d]
        # key -> (argv, env, namespace whose server CPU is counted, runs)
        clients = {
            "sidecar-init status": ([str(sidecar.path), "status"], si_env, si, runs),
            "sidecar-init health": ([str(sidecar.path), "health"], si_env, si, runs),
            "sidecar-init --version": ([str(sidecar.path), "--version"], si_env, None, runs),
            "fork + exec (static no-op)": ([str(HELPER), "nop"], env, None, runs),
            "supervisorctl status": ([*sup_ctl, "status"], env, sv, slow_runs),
            "supervisorctl --help": ([*sup_ctl, "--help"], env, None, slow_runs),
            "s6-svstat, 1 service": (["s6-svstat", s6dirs[0]], env, s6n, runs),
            "s6-svstat × 4 services": (s6x4, env, s6n, runs),
            "sv status, 4 services": (["sv", "status", *rndirs], env, rnn, runs),
        }
        for key, (argv, cenv, _, _) in clients.items():
            first = argv[: argv.index(":::")] if ":::" in argv else argv  # what one answer looks like
            p = subprocess.run(first, env=cenv, capture_output=True, text=True, timeout=30)
            out["answers"][key] = {"code": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
        with Load(own=True) as load:
            for rnd in range(-(-max(runs, slow_runs) // batch)):
                for key, (argv, cenv, ns, n) in clients.items():
                    r = out["status"].setdefault(key, {"ns": [], "client_cpu_ns": [], "server_cpu_ns": [], "failed": 0})
                    k = min(batch, n - rnd * batch)
                    if k <= 0:
                        continue
                    c0 = server_cpu_ns(ns) if ns else None
                    got = timed(argv, k, cenv)
                    if ns:
                        r["server_cpu_ns"].append((server_cpu_ns(ns) - c0) / k)
                    r["ns"] += [t1 - t0 for t0, t1, st, _ in got if st == 0]
                    r["client_cpu_ns"] += [cpu for _, _, st, cpu in got if st == 0]
                    r["failed"] += sum(1 for _, _, st, _ in got if st != 0)
        out["status_load"] = load.result
        for key, r in out["status"].items():
            log(
                f"control status {key}: p50 {fmt_ms(pct(r['ns'], 50))}, p99 {fmt_ms(pct(r['ns'], 99))}"
                + (f", {r['failed']} failed" if r["failed"] else "")
            )

        # restart pipelock: the request -> the replacement's first instruction
        reqs = [
            ("sidecar-init restart", si, [str(sidecar.path), "restart", "pipelock"], si_env),
            ("sidecar-init SIGUSR1", si, None, None),
            ("supervisorctl restart", sv, [*sup_ctl, "restart", "pipelock"], env),
            ("s6-svc -r", s6n, ["s6-svc", "-r", s6dirs[1]], env),
            ("sv restart", rnn, ["sv", "restart", rndirs[1]], env),
        ]
        # Rounds, as for the status: each goes through every request, so the
        # machine's other work falls on all of them alike. A request waits
        # for the replacement of the one before, and for its init's gap.
        rounds, per_round, gaps = restart_rounds
        last = {}
        for key, *_ in reqs:
            out["restart"][key] = {"ns": [], "client_ns": [], "errors": []}
        with Load(own=True) as load:
            for _ in range(rounds):
                for key, ns, argv, cenv in reqs:
                    r = out["restart"][key]
                    gap = gaps.get(ns.init.key, gaps["default"])
                    for _ in range(per_round.get(key, 1)):
                        wait = last.get(ns.init.key, 0) + gap - time.monotonic()
                        if wait > 0:
                            time.sleep(wait)
                        before = len([s for s in ns.starts() if s[0] == "pipelock"])
                        try:
                            if argv is None:
                                t0 = now()
                                os.kill(ns.pid, signal.SIGUSR1)
                            else:
                                [(t0, t1, st, _)] = timed(argv, 1, cenv)
                                if st != 0:
                                    raise RuntimeError(f"{key}: wait status {st}")
                                r["client_ns"].append(t1 - t0)
                            new = ns.wait_for(
                                lambda: [s for s in ns.starts() if s[0] == "pipelock"][before:], 10.0, "replacement"
                            )
                            r["ns"].append(new[0][2] - t0)
                        except RuntimeError as e:
                            r["errors"].append(str(e))
                        last[ns.init.key] = time.monotonic()
        out["restart_load"] = load.result
        for key, r in out["restart"].items():
            log(
                f"control restart {key}: p50 {fmt_ms(pct(r['ns'], 50))}, p99 {fmt_ms(pct(r['ns'], 99))}"
                + (f", client exited after {fmt_ms(pct(r['client_ns'], 50))}" if r["client_ns"] else "")
            )
    finally:
        for ns in nss.values():
            ns.stop()
    return out


def pct(xs, q):
    """Nearest rank: the smallest sample with q % of them at or below it."""
    xs = sorted(x for x in (xs or []) if x is not None)
    return xs[max(0, -(-q * len(xs) // 100) - 1)] if xs else None


# ---------------------------------------------------------------- formatting


def fmt_ms(ns):
    return "—" if ns is None else (f"{ns / 1e6:.2f} ms" if ns < 10e6 else f"{ns / 1e6:.0f} ms")


def fmt_us(ns):
    return "—" if ns is None else f"{ns / 1e3:.2f} µs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sidecar-init", required=True, type=Path)
    ap.add_argument("--standin", required=True, type=Path)
    ap.add_argument("--quick", action="store_true", help="fewer runs, shorter idle window (for trying the bench)")
    ap.add_argument(
        "--only",
        default="size,startstop,restart,autorestart,idle,reap,pump,relay,latency,sigflood,stray,control",
        help="comma-separated figures to run (e.g. --only autorestart)",
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        help="an earlier sidecar-init build, run beside this one in the relay, signal-flood and stray figures",
    )
    ap.add_argument("--json", type=Path, default=WORK / "results.json")
    ap.add_argument(
        "--md",
        type=Path,
        default=REPORT_MD,
        help="where the markdown goes (a partial run: somewhere else than BENCHMARKS.md, then merge by hand)",
    )
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (PID namespaces, nsenter, apt-get)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    try:
        run(args)
    finally:
        for ns in list(Ns.live):
            ns.close()


def run(args):
    t_begin = time.monotonic()
    ensure_packages()
    have_plot = ensure_matplotlib()
    build_helper()
    shutil.rmtree(WORK / "runs", ignore_errors=True)
    (WORK / "runs").mkdir(parents=True)

    inits = [
        SidecarInit(args.sidecar_init.resolve()),
        SingleChild("tini", shutil.which("tini-static"), [], ["--"]),
        SingleChild("dumb-init", shutil.which("dumb-init"), [], []),
        SingleChild("catatonit", shutil.which("catatonit"), [], ["--"]),
        S6(),
        Supervisord(),
    ]
    q = args.quick
    only = set(args.only.split(","))
    res = {
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": {
            "sidecar-init": sh(str(args.sidecar_init), "--version"),
            "tini": deb_version("tini"),
            "dumb-init": deb_version("dumb-init"),
            "catatonit": deb_version("catatonit"),
            "s6": deb_version("s6"),
            "supervisord": deb_version("supervisor"),
            "runit (runsvdir)": deb_version("runit"),
            "python3 (for supervisord)": sh("/usr/bin/python3", "--version"),
        },
        "params": {},
    }
    P = res["params"]
    P.update(
        start_runs=5 if q else 11,
        start_runs_supervisord=5 if q else 7,
        restart_runs=5 if q else 7,
        restart_spacing_s=1.1,
        autorestart_runs=10 if q else 30,
        autorestart_lifetimes_ms=[100, 1500],  # under and over s6-supervise's 1 s throttle
        idle_windows=1 if q else 2,
        idle_s=3 if q else 10,
        reap_runs=5 if q else 5,
        orphans=2000 if q else 10000,
        supervisord_reap=(300, 2) if q else (1000, 3),  # it drains ~100 orphans a second
        pump_runs=7,
        pump_len=100,
        pump_bytes=(32 if q else 128) * MB,
        plot_lens=[16, 64, 256, 1024, 4096],
        plot_bytes=(16 if q else 48) * MB,
        plot_runs=1 if q else 5,
        chunk=65536,
        relay_runs=3 if q else 5,
        relay_bytes=(32 if q else 128) * MB,
        relay_chunks=[65536, 100],
        # (samples, spacing s): s6-supervise waits 1 s between two starts, runsv too
        latency_restart={
            "default": (20 if q else 100, 0.05),
            "s6": (5 if q else 12, 1.1),
            "runsvdir": (5 if q else 12, 1.1),
            "supervisord": (5 if q else 20, 0.2),
        },
        latency_stop={"default": 5 if q else 25, "supervisord": 3 if q else 5},
        latency_settle_s=0.3,
        sigflood_runs=3 if q else 7,
        sigflood_signals=100000,
        stray_runs=5 if q else 15,
        stray_lives_ms=50,
        control_status_runs=40 if q else 300,
        control_status_runs_supervisorctl=10 if q else 60,
        control_batch=10,
        # (rounds, requests of each kind a round, least gap s between two
        # restarts in one init): s6-supervise and runsv wait about a second
        # between two starts of a service, as in latency_restart
        control_restart=(
            4 if q else 12,
            {"sidecar-init restart": 8, "sidecar-init SIGUSR1": 8, "supervisorctl restart": 2},
            {"default": 0.05, "supervisord": 0.2, "s6": 1.1, "runsvdir": 1.1},
        ),
    )
    phases = [
        ("size", lambda: fig_size(inits)),
        ("startstop", lambda: fig_start_stop(inits, P["start_runs"], P["start_runs_supervisord"])),
        ("restart", lambda: fig_restart(inits, P["restart_runs"], P["restart_spacing_s"])),
        ("autorestart", lambda: fig_autorestart(inits, P["autorestart_runs"], P["autorestart_lifetimes_ms"])),
        ("idle", lambda: fig_idle(inits, P["idle_windows"], P["idle_s"])),
        (
            "reap",
            lambda: fig_reap(
                [*inits, Floor()],
                P["reap_runs"],
                P["orphans"],
                args.standin.resolve(),
                {"supervisord": P["supervisord_reap"]},
            ),
        ),
        (
            "pump",
            lambda: fig_pump(
                [i for i in inits if i.pump],
                P["pump_len"],
                P["pump_bytes"],
                P["plot_lens"],
                P["plot_bytes"],
                P["pump_runs"],
                P["plot_runs"],
                P["chunk"],
            ),
        ),
    ]
    latency_inits = [*inits, Runit()]
    baseline = [SidecarInit(args.baseline.resolve())] if args.baseline else []
    for b in baseline:
        b.key = b.label = "sidecar-init (baseline)"
    res["baseline"] = sh(str(args.baseline), "--version") + f" ({args.baseline})" if args.baseline else None
    phases += [
        ("relay", lambda: fig_relay([*[i for i in inits if i.pump], *baseline], P["relay_runs"], P["relay_bytes"], P["relay_chunks"])),
        ("latency", lambda: fig_latency(latency_inits, P["latency_restart"], P["latency_stop"], P["latency_settle_s"])),
        ("sigflood", lambda: fig_sigflood([inits[0], *baseline, *[i for i in inits if not i.multi]], P["sigflood_runs"], P["sigflood_signals"])),
        ("stray", lambda: fig_stray([inits[0], *baseline], P["stray_runs"], P["stray_lives_ms"])),
        (
            "control",
            lambda: fig_control(
                inits[0],
                P["control_status_runs"],
                P["control_status_runs_supervisorctl"],
                P["control_batch"],
                P["control_restart"],
            ),
        ),
    ]
    res["phase_errors"] = {}
    for name, phase in phases:
        if name not in only:
            continue
        try:
            res[name] = phase()
        except Exception as e:  # one figure failing must not cost the others
            log(f"{name} failed: {e!r}")
            res["phase_errors"][name] = repr(e)
            for ns in list(Ns.live):
                ns.close()
    res["elapsed_s"] = round(time.monotonic() - t_begin, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1))
    log(f"raw results: {args.json}")
    sys.dont_write_bytecode = True  # no __pycache__ left in bench/
    import report

    report.write(res, args.md, PLOT if have_plot and args.md == REPORT_MD else None)
    log(f"wrote {args.md} in {res['elapsed_s']} s")


if __name__ == "__main__":
    main()
