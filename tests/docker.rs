//! sidecar-init under a real Docker engine, driven the way Docker drives the
//! sidecar bundle: `docker run`, `docker kill --signal`, `docker stop`.
//!
//! Runs against the offline demo image (`make demo-image`: FROM scratch,
//! sidecar-init plus the stand-in daemon in every slot) and needs an engine
//! that answers (`tools/docker-engine start`). `make docker-test` does both.
//! With no engine or no image every test fails; none is skipped.
//!
//! Environment: `SIDECAR_DEMO_IMAGE` (default `claude-bottle-sidecars-demo:latest`),
//! `DOCKER` (the client, default `docker`).
//!
//! The project links every binary without unwind tables (link/), so a panic
//! here aborts the whole test binary: tests return `Result` instead, and a
//! failed check returns early, which lets the `Container` guard remove its
//! container. A panic hook still removes this run's containers and prints
//! the message before the abort.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant, SystemTime};

const DEFAULT_IMAGE: &str = "claude-bottle-sidecars-demo:latest";
/// Docker's own stop timeout: past it, Docker SIGKILLs the init.
const DOCKER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// "Well under Docker's 10 s" for a stop whose daemons obey SIGTERM.
const QUICK_STOP: Duration = Duration::from_secs(3);
/// How long a daemon's start, a log line or an exit may take on a busy box.
const PATIENCE: Duration = Duration::from_secs(20);

/// The four slots in start order, with their demo ports.
const SLOTS: [(&str, u16); 4] = [("egress", 9099), ("pipelock", 8888), ("git-gate", 9418), ("supervise", 9100)];

// ---- checks without panics ----------------------------------------------------

/// A failed check. The harness prints a failed test's `Err` with `{:?}`:
/// this one prints its text as is, logs and all.
struct Failure(String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Check<T = ()> = Result<T, Failure>;

macro_rules! fail {
    ($($msg:tt)+) => { Failure(format!("{} (tests/docker.rs:{})", format!($($msg)+), line!())) };
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(fail!("check failed: {}: {}", stringify!($cond), format!($($msg)+)));
        }
    };
}

macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err(fail!("{:?} != {:?}: {}", left, right, format!($($msg)+)));
                }
            }
        }
    };
}

// ---- docker -------------------------------------------------------------------

fn image() -> String {
    std::env::var("SIDECAR_DEMO_IMAGE").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_IMAGE.into())
}

fn docker_bin() -> String {
    std::env::var("DOCKER").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "docker".into())
}

fn docker(args: &[&str]) -> Check<Output> {
    Command::new(docker_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail!("cannot run `{} {}`: {e}", docker_bin(), args.join(" ")))
}

/// Runs docker, insists on success, returns its trimmed stdout.
fn docker_ok(args: &[&str]) -> Check<String> {
    let out = docker(args)?;
    ensure!(
        out.status.success(),
        "`docker {}` failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Every container of this test run carries this label.
fn run_label() -> String {
    format!("sidecar-init-test-run={}", std::process::id())
}

/// Removes every container of this test run.
fn remove_this_runs_containers() {
    let filter = format!("label={}", run_label());
    if let Ok(out) = docker(&["ps", "-aq", "--filter", &filter]) {
        let ids = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(ids.split_whitespace());
        if args.len() > 3 {
            let _ = docker(&args);
        }
    }
}

/// Every test starts here: an engine must answer and the image must exist.
fn preconditions() -> Check {
    static HOOK: Once = Once::new();
    static CHECKED: Mutex<bool> = Mutex::new(false);
    HOOK.call_once(|| {
        // A panic aborts (no unwinding): say why on the real stderr, which
        // the harness does not capture, and leave no container behind.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = writeln!(std::io::stderr(), "tests/docker.rs: {info}");
            remove_this_runs_containers();
            default_hook(info);
        }));
    });
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    if *checked {
        return Ok(());
    }
    let info = docker(&["info", "--format", "{{.ServerVersion}}"])?;
    ensure!(
        info.status.success(),
        "no Docker engine answers (`docker info`: {}); start one with `tools/docker-engine start`",
        String::from_utf8_lossy(&info.stderr).trim()
    );
    let out = docker(&["image", "inspect", "--format", "{{.Id}}", &image()])?;
    ensure!(out.status.success(), "image {} is missing: build it with `make demo-image`", image());
    *checked = true;
    Ok(())
}

fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("sidecar-init-test-{tag}-{}-{}-{nanos:x}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A container of the demo image, removed (`docker rm -f`) when dropped,
/// whether the test passed or not.
struct Container {
    name: String,
}

impl Container {
    /// `docker create`: the container exists but has not started.
    fn create(tag: &str) -> Check<Container> {
        preconditions()?;
        let container = Container { name: unique_name(tag) };
        docker_ok(&["create", "--name", &container.name, "--label", &run_label(), &image()])?;
        Ok(container)
    }

    /// `docker run -d` with `options` (before the image) and `env` as `-e` pairs.
    fn run(tag: &str, options: &[&str], env: &[(&str, &str)]) -> Check<Container> {
        preconditions()?;
        let container = Container { name: unique_name(tag) };
        let mut args: Vec<String> =
            ["run", "-d", "--name", &container.name, "--label", &run_label()].map(String::from).to_vec();
        args.extend(options.iter().map(|s| s.to_string()));
        for (key, value) in env {
            args.push("-e".into());
            args.push(format!("{key}={value}"));
        }
        args.push(image());
        docker_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(container)
    }

    /// stdout then stderr of `docker logs`: daemon lines (prefixed) are on
    /// the first, the init's own lines on the second.
    fn logs(&self) -> Check<String> {
        let out = docker(&["logs", &self.name])?;
        ensure!(out.status.success(), "docker logs {}: {}", self.name, String::from_utf8_lossy(&out.stderr));
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(text)
    }

    /// The logs for a failure message, or why there are none.
    fn logs_for_failure(&self) -> String {
        self.logs().unwrap_or_else(|e| format!("(no logs: {e:?})"))
    }

    /// Polls `docker logs` until `done` holds; fails with the logs at the deadline.
    fn wait_logs(&self, what: &str, done: impl Fn(&str) -> bool) -> Check<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let logs = self.logs()?;
            if done(&logs) {
                return Ok(logs);
            }
            ensure!(Instant::now() < deadline, "{}: no {what} within {PATIENCE:?}; logs:\n{logs}", self.name);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_line(&self, line: &str) -> Check<String> {
        self.wait_logs(&format!("line `{line}`"), |logs| has_line(logs, line))
    }

    /// Waits until each given slot's stand-in is listening (so its signals
    /// are blocked and read from its signalfd).
    fn wait_listening(&self, slots: &[(&str, u16)]) -> Check<String> {
        let lines: Vec<String> = slots.iter().map(|(s, port)| format!("[{s}] {s} listening port={port}")).collect();
        self.wait_logs("stand-ins listening", |logs| lines.iter().all(|want| has_line(logs, want)))
    }

    fn inspect(&self, format: &str) -> Check<String> {
        docker_ok(&["inspect", "--format", format, &self.name])
    }

    fn running(&self) -> Check<bool> {
        Ok(self.inspect("{{.State.Running}}")? == "true")
    }

    fn exit_code(&self) -> Check<i32> {
        let code = self.inspect("{{.State.ExitCode}}")?;
        code.parse().map_err(|_| fail!("exit code {code:?}"))
    }

    fn kill(&self, signal: &str) -> Check {
        docker_ok(&["kill", "--signal", signal, &self.name]).map(drop)
    }

    /// `docker stop` with Docker's default 10 s timeout; returns how long it took.
    fn stop(&self) -> Check<Duration> {
        let start = Instant::now();
        docker_ok(&["stop", "--time", &DOCKER_STOP_TIMEOUT.as_secs().to_string(), &self.name])?;
        Ok(start.elapsed())
    }

    /// Waits for the container to exit by itself; returns its exit code.
    fn wait_exit(&self) -> Check<i32> {
        let deadline = Instant::now() + PATIENCE;
        while self.inspect("{{.State.Status}}")? != "exited" {
            ensure!(
                Instant::now() < deadline,
                "{} still running after {PATIENCE:?}; logs:\n{}",
                self.name,
                self.logs_for_failure()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.exit_code()
    }

    /// Every port answers a TCP connect at the container's address.
    fn assert_ports_answer(&self, ports: &[u16]) -> Check {
        let ip = self.inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")?;
        ensure!(!ip.is_empty(), "{} has no IP address", self.name);
        for port in ports {
            let addr: SocketAddr = format!("{ip}:{port}").parse().map_err(|e| fail!("{ip}:{port}: {e}"))?;
            if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                return Err(fail!("port {port} does not answer at {addr}: {e}; logs:\n{}", self.logs_for_failure()));
            }
        }
        Ok(())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(docker_bin())
            .args(["rm", "-f", "-v", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

// ---- reading the logs -----------------------------------------------------------

/// `(slot, pid)` of every `sidecar-init: SLOT started pid=N` line, in order.
fn started(logs: &str) -> Vec<(String, i32)> {
    logs.lines()
        .filter_map(|l| l.strip_prefix("sidecar-init: "))
        .filter_map(|l| l.split_once(" started pid="))
        .filter_map(|(slot, pid)| Some((slot.to_string(), pid.parse().ok()?)))
        .collect()
}

fn pids_of(logs: &str, slot: &str) -> Vec<i32> {
    started(logs).into_iter().filter(|(s, _)| s == slot).map(|(_, pid)| pid).collect()
}

/// The one pid a slot was started with.
fn pid_of(logs: &str, slot: &str) -> Check<i32> {
    match pids_of(logs, slot)[..] {
        [pid] => Ok(pid),
        ref pids => Err(fail!("{slot} started {} times; logs:\n{logs}", pids.len())),
    }
}

fn count(logs: &str, pred: impl Fn(&str) -> bool) -> usize {
    logs.lines().filter(|l| pred(l)).count()
}

fn has_line(logs: &str, line: &str) -> bool {
    logs.lines().any(|l| l == line)
}

fn all_ports() -> Vec<u16> {
    SLOTS.iter().map(|(_, port)| *port).collect()
}

// ---- the image --------------------------------------------------------------

/// Regular files of a tar stream: (path, contents).
fn tar_files(tar: &[u8]) -> Check<Vec<(String, Vec<u8>)>> {
    fn text(raw: &[u8]) -> String {
        String::from_utf8_lossy(&raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())]).into_owned()
    }
    let mut files = Vec::new();
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while let Some(h) = tar.get(at..at + 512) {
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size_field = text(&h[124..136]);
        let size = usize::from_str_radix(size_field.trim(), 8).map_err(|_| fail!("tar size {size_field:?}"))?;
        let data = tar.get(at + 512..at + 512 + size).ok_or_else(|| fail!("truncated tar"))?;
        let (kind, prefix, name) = (h[156], text(&h[345..500]), text(&h[..100]));
        match kind {
            b'L' => long_name = Some(text(data)),
            b'x' | b'g' => {}
            _ => {
                let name =
                    long_name.take().unwrap_or(if prefix.is_empty() { name } else { format!("{prefix}/{name}") });
                if kind == b'0' || kind == 0 {
                    files.push((name.trim_start_matches("./").to_string(), data.to_vec()));
                }
            }
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    Ok(files)
}

/// Whether an ELF64 file has an interpreter or a dynamic section.
fn elf_is_dynamic(elf: &[u8]) -> Check<bool> {
    let bytes = |at: usize, n: usize| elf.get(at..at + n).ok_or_else(|| fail!("ELF file too short"));
    ensure!(bytes(0, 5)? == b"\x7fELF\x02", "not an ELF64 file");
    let word = |at: usize, n: usize| -> Check<usize> {
        Ok(bytes(at, n)?.iter().rev().fold(0usize, |v, &b| (v << 8) | b as usize))
    };
    let (phoff, phentsize, phnum) = (word(0x20, 8)?, word(0x36, 2)?, word(0x38, 2)?);
    for i in 0..phnum {
        let kind = word(phoff + i * phentsize, 4)?;
        if kind == 2 || kind == 3 {
            return Ok(true); // PT_DYNAMIC, PT_INTERP
        }
    }
    Ok(false)
}

#[test]
fn demo_image_has_no_shell_and_no_libc() -> Check {
    // What is on disk: the image's files, exported from a created (never started) container.
    let c = Container::create("files")?;
    let out = docker(&["export", &c.name])?;
    ensure!(out.status.success(), "docker export: {}", String::from_utf8_lossy(&out.stderr));
    let files = tar_files(&out.stdout)?;

    let ours: BTreeSet<&str> = BTreeSet::from([
        "app/sidecar-init",
        "app/egress-entrypoint.sh",
        "usr/local/bin/pipelock",
        "git-gate-entrypoint.sh",
        "usr/bin/python3",
        "standin",
    ]);
    // Docker adds .dockerenv and empty mount points (etc/hosts, dev/console...) to every container.
    let docker_own = |name: &str, data: &[u8]| {
        data.is_empty() && (name == ".dockerenv" || name.starts_with("etc/") || name.starts_with("dev/"))
    };
    let found: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for (name, data) in &files {
        ensure!(ours.contains(name.as_str()) || docker_own(name, data), "unexpected file in the image: /{name}");
        if ours.contains(name.as_str()) {
            ensure!(!elf_is_dynamic(data)?, "/{name} is dynamically linked");
        }
    }
    ensure_eq!(found.intersection(&ours).count(), ours.len(), "files: {found:?}");
    ensure!(!found.iter().any(|n| n.starts_with("bin/") || n.starts_with("lib")), "files: {found:?}");

    // And a shell cannot be run in it.
    let sh = docker(&["run", "--rm", "--label", &run_label(), "--entrypoint", "/bin/sh", &image(), "-c", "true"])?;
    ensure!(!sh.status.success(), "/bin/sh ran in the demo image");
    Ok(())
}

// ---- start-up ---------------------------------------------------------------

#[test]
fn run_starts_all_four_with_prefixed_logs_on_the_real_ports() -> Check {
    let c = Container::run("start", &[], &[])?;
    let logs = c.wait_listening(&SLOTS)?;
    let starts = started(&logs);
    let order: Vec<&str> = starts.iter().map(|(s, _)| s.as_str()).collect();
    ensure_eq!(order, ["egress", "pipelock", "git-gate", "supervise"], "logs:\n{logs}");
    for (slot, pid) in &starts {
        // The stand-in's own start line, prefixed by the init: its own
        // session and group, a child of PID 1, nothing blocked or ignored,
        // no descriptor but 0, 1 and 2.
        let want = format!(
            "[{slot}] {slot} start pid={pid} ppid=1 pgid={pid} sid={pid} \
             sigblk=0000000000000000 sigign=0000000000000000 fds=0,1,2"
        );
        ensure!(has_line(&logs, &want), "missing `{want}`; logs:\n{logs}");
    }
    c.assert_ports_answer(&all_ports())?;
    ensure!(c.running()?, "logs:\n{logs}");
    let took = c.stop()?;
    ensure_eq!(c.exit_code()?, 0, "logs:\n{}", c.logs_for_failure());
    ensure!(took < QUICK_STOP, "docker stop took {took:?}");
    Ok(())
}

// ---- signals ----------------------------------------------------------------

#[test]
fn usr1_restarts_pipelock_and_leaves_the_others_alone() -> Check {
    let c = Container::run("usr1", &[], &[])?;
    let before = c.wait_listening(&SLOTS)?;
    let old = pid_of(&before, "pipelock")?;

    c.kill("USR1")?;
    let after = c.wait_logs("a second pipelock listening", |logs| {
        count(logs, |l| l == "[pipelock] pipelock listening port=8888") == 2 && pids_of(logs, "pipelock").len() == 2
    })?;
    let new = pids_of(&after, "pipelock")[1];
    ensure!(new != old, "pipelock kept its pid {old}; logs:\n{after}");
    ensure!(has_line(&after, &format!("sidecar-init: restarting pipelock pid={old} (SIGUSR1)")), "logs:\n{after}");
    ensure!(has_line(&after, &format!("sidecar-init: pipelock exited pid={old} signal=SIGTERM")), "logs:\n{after}");
    ensure!(has_line(&after, "[pipelock] pipelock exiting on SIGTERM"), "logs:\n{after}");
    ensure!(c.running()?, "the container stopped on SIGUSR1; logs:\n{after}");
    for (slot, _) in SLOTS.iter().filter(|(s, _)| *s != "pipelock") {
        ensure_eq!(pid_of(&after, slot)?, pid_of(&before, slot)?, "{slot} has a new pid; logs:\n{after}");
        let got_signal = format!("[{slot}] {slot} signal");
        ensure_eq!(count(&after, |l| l.starts_with(&got_signal)), 0, "{slot} got a signal; logs:\n{after}");
        let exited = format!("sidecar-init: {slot} exited");
        ensure_eq!(count(&after, |l| l.starts_with(&exited)), 0, "{slot} exited; logs:\n{after}");
    }
    c.assert_ports_answer(&all_ports())?;

    c.stop()?;
    ensure_eq!(c.exit_code()?, 0, "the replaced run must not count; logs:\n{}", c.logs_for_failure());
    Ok(())
}

#[test]
fn hup_reaches_egress_only() -> Check {
    let c = Container::run("hup", &[], &[])?;
    let logs = c.wait_listening(&SLOTS)?;
    let egress = pid_of(&logs, "egress")?;
    c.kill("HUP")?;
    c.wait_line("[egress] egress signal 1 SIGHUP")?;
    ensure!(c.running()?, "the container stopped on SIGHUP");
    c.stop()?;
    // Once the container has exited its logs are complete.
    let logs = c.logs()?;
    let forwarded = format!("sidecar-init: SIGHUP forwarded to egress pid={egress}");
    ensure!(has_line(&logs, &forwarded), "logs:\n{logs}");
    ensure_eq!(count(&logs, |l| l.ends_with(" signal 1 SIGHUP")), 1, "logs:\n{logs}");
    ensure_eq!(c.exit_code()?, 0, "logs:\n{logs}");
    Ok(())
}

#[test]
fn other_signals_are_logged_once_and_ignored() -> Check {
    let c = Container::run("usr2", &[], &[])?;
    c.wait_listening(&SLOTS)?;
    c.kill("USR2")?;
    c.wait_line("sidecar-init: ignoring SIGUSR2")?;
    c.kill("USR2")?;
    c.kill("WINCH")?;
    c.wait_line("sidecar-init: ignoring SIGWINCH")?;
    ensure!(c.running()?, "logs:\n{}", c.logs_for_failure());
    c.stop()?;
    let logs = c.logs()?;
    ensure_eq!(count(&logs, |l| l == "sidecar-init: ignoring SIGUSR2"), 1, "logs:\n{logs}");
    let reached_a_daemon = |l: &str| l.ends_with(" SIGUSR2") || l.ends_with(" SIGWINCH");
    ensure_eq!(count(&logs, |l| l.starts_with('[') && reached_a_daemon(l)), 0, "logs:\n{logs}");
    ensure_eq!(c.exit_code()?, 0, "logs:\n{logs}");
    Ok(())
}

#[test]
fn int_shuts_down_like_term() -> Check {
    let c = Container::run("int", &[], &[])?;
    c.wait_listening(&SLOTS)?;
    c.kill("INT")?;
    let code = c.wait_exit()?;
    let logs = c.logs()?;
    ensure_eq!(code, 0, "logs:\n{logs}");
    ensure!(has_line(&logs, "sidecar-init: shutting down (SIGINT); grace 8000 ms"), "logs:\n{logs}");
    ensure_eq!(count(&logs, |l| l.starts_with('[') && l.ends_with(" signal 15 SIGTERM")), 4, "logs:\n{logs}");
    Ok(())
}

// ---- docker stop ------------------------------------------------------------

#[test]
fn stop_exits_0_well_under_dockers_timeout() -> Check {
    let c = Container::run("stop", &[], &[])?;
    c.wait_listening(&SLOTS)?;
    let took = c.stop()?;
    let logs = c.logs()?;
    eprintln!("docker stop of four stand-ins that obey SIGTERM took {took:?}");
    ensure_eq!(c.exit_code()?, 0, "logs:\n{logs}");
    ensure!(took < QUICK_STOP, "docker stop took {took:?}; logs:\n{logs}");
    ensure!(has_line(&logs, "sidecar-init: shutting down (SIGTERM); grace 8000 ms"), "logs:\n{logs}");
    for (slot, _) in SLOTS {
        ensure!(has_line(&logs, &format!("[{slot}] {slot} exiting on SIGTERM")), "logs:\n{logs}");
    }
    ensure!(has_line(&logs, "sidecar-init: exiting code=0"), "logs:\n{logs}");
    Ok(())
}

#[test]
fn stop_kills_a_daemon_that_ignores_term_at_the_grace() -> Check {
    let grace = Duration::from_millis(1000);
    let c = Container::run(
        "grace",
        &[],
        &[
            ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", "1000"),
            ("CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE", "/standin git-gate --ignore-term --listen 9418"),
        ],
    )?;
    let logs = c.wait_listening(&SLOTS)?;
    let git_gate = pid_of(&logs, "git-gate")?;
    let took = c.stop()?;
    let logs = c.logs()?;
    eprintln!("docker stop with a stand-in that ignores SIGTERM, grace {grace:?}, took {took:?}");
    ensure!(has_line(&logs, "[git-gate] git-gate signal 15 SIGTERM"), "logs:\n{logs}");
    let expired = format!("sidecar-init: git-gate pid={git_gate} outlived the grace; SIGKILL to its group");
    ensure!(has_line(&logs, &expired), "logs:\n{logs}");
    let killed = format!("sidecar-init: git-gate exited pid={git_gate} signal=SIGKILL");
    ensure!(has_line(&logs, &killed), "logs:\n{logs}");
    // The init ended it, not Docker: Docker's kill leaves 137 and no last line.
    ensure!(has_line(&logs, "sidecar-init: exiting code=0"), "logs:\n{logs}");
    ensure_eq!(c.exit_code()?, 0, "logs:\n{logs}");
    ensure!(took >= grace, "stopped after {took:?}, before the {grace:?} grace");
    ensure!(took < grace + QUICK_STOP, "docker stop took {took:?}; Docker's own kill is at {DOCKER_STOP_TIMEOUT:?}");
    Ok(())
}

#[test]
fn a_daemon_exit_code_becomes_the_containers() -> Check {
    let c = Container::run("exit3", &[], &[("CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE", "/standin git-gate --exit 3")])?;
    let logs = c.wait_logs("git-gate's exit", |logs| {
        logs.lines().any(|l| l.starts_with("sidecar-init: git-gate exited pid=") && l.ends_with(" code=3"))
    })?;
    ensure!(has_line(&logs, "[git-gate] git-gate exiting code=3"), "logs:\n{logs}");
    let others: Vec<_> = SLOTS.iter().copied().filter(|(s, _)| *s != "git-gate").collect();
    c.wait_listening(&others)?;
    ensure!(c.running()?, "the siblings must keep running; logs:\n{}", c.logs_for_failure());
    c.stop()?;
    let waited = docker_ok(&["wait", &c.name])?;
    ensure_eq!(waited, "3", "docker wait; logs:\n{}", c.logs_for_failure());
    ensure_eq!(c.exit_code()?, 3, "docker inspect");
    ensure!(has_line(&c.logs()?, "sidecar-init: exiting code=3"), "logs:\n{}", c.logs_for_failure());
    Ok(())
}

// ---- CLAUDE_BOTTLE_SIDECAR_DAEMONS -------------------------------------------

#[test]
fn daemons_pipelock_runs_only_pipelock() -> Check {
    let c = Container::run("only", &[], &[("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "pipelock")])?;
    c.wait_listening(&[("pipelock", 8888)])?;
    c.assert_ports_answer(&[8888])?;
    c.stop()?;
    let logs = c.logs()?;
    let slots: BTreeSet<String> = started(&logs).into_iter().map(|(s, _)| s).collect();
    ensure_eq!(slots, BTreeSet::from(["pipelock".to_string()]), "logs:\n{logs}");
    for slot in ["egress", "git-gate", "supervise"] {
        ensure_eq!(count(&logs, |l| l.starts_with(&format!("[{slot}]"))), 0, "logs:\n{logs}");
    }
    ensure_eq!(c.exit_code()?, 0, "logs:\n{logs}");
    Ok(())
}

#[test]
fn daemons_empty_exits_0_at_once() -> Check {
    let start = Instant::now();
    let c = Container::run("none", &[], &[("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "")])?;
    let code = c.wait_exit()?;
    let took = start.elapsed();
    let logs = c.logs()?;
    ensure_eq!(code, 0, "logs:\n{logs}");
    ensure!(took < QUICK_STOP, "took {took:?} from docker run to the exit");
    let said = "sidecar-init: no daemon selected (CLAUDE_BOTTLE_SIDECAR_DAEMONS=''); nothing to run, exiting";
    ensure!(has_line(&logs, said), "logs:\n{logs}");
    ensure!(started(&logs).is_empty(), "logs:\n{logs}");
    Ok(())
}

#[test]
fn daemons_unknown_name_exits_2_with_the_message() -> Check {
    let c = Container::run("bogus", &[], &[("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "pipelock,bogus")])?;
    let code = c.wait_exit()?;
    let logs = c.logs()?;
    ensure_eq!(code, 2, "logs:\n{logs}");
    let want = "sidecar-init: CLAUDE_BOTTLE_SIDECAR_DAEMONS='pipelock,bogus' names no slot 'bogus'; \
                accepted: comma-separated names among egress, pipelock, git-gate, supervise";
    ensure!(has_line(&logs, want), "logs:\n{logs}");
    ensure!(started(&logs).is_empty(), "nothing may start; logs:\n{logs}");
    Ok(())
}

// ---- pids limit ---------------------------------------------------------------

#[test]
fn a_fork_bomb_hits_the_pids_limit_and_the_init_still_stops_cleanly() -> Check {
    let c = Container::run(
        "forkbomb",
        &["--pids-limit", "40"],
        &[("CLAUDE_BOTTLE_SIDECAR_CMD_SUPERVISE", "/standin supervise --listen 9100 --fork-bomb")],
    )?;
    let logs =
        c.wait_logs("the fork bomb's end", |logs| logs.contains("[supervise] supervise fork-bomb stopped after "))?;
    let bomb = logs.lines().find(|l| l.contains("fork-bomb stopped after ")).unwrap_or_default();
    eprintln!("{bomb}");
    ensure!(bomb.contains(": Resource temporarily unavailable"), "the pids limit did not stop it: {bomb}");
    c.wait_listening(&SLOTS)?;

    // The init is still up and still routes signals.
    ensure!(c.running()?, "logs:\n{logs}");
    c.kill("HUP")?;
    c.wait_line("[egress] egress signal 1 SIGHUP")?;
    ensure!(c.running()?, "logs:\n{}", c.logs_for_failure());

    let took = c.stop()?;
    let logs = c.logs()?;
    eprintln!("docker stop at the pids limit took {took:?}");
    ensure_eq!(c.exit_code()?, 0, "logs:\n{logs}");
    ensure!(has_line(&logs, "sidecar-init: exiting code=0"), "logs:\n{logs}");
    ensure!(took < QUICK_STOP, "docker stop took {took:?}; logs:\n{logs}");
    Ok(())
}

// ---- behind docker run --init -------------------------------------------------

#[test]
fn behind_docker_init_it_reaps_as_a_subreaper_and_makes_no_sweep() -> Check {
    // Docker's --init puts its tini first: sidecar-init is then not PID 1.
    let c = Container::run("tini", &["--init"], &[])?;
    let logs = c.wait_listening(&SLOTS)?;
    let egress = pid_of(&logs, "egress")?;
    let start = logs.lines().find(|l| l.starts_with("[egress] egress start ")).unwrap_or_default();
    ensure!(start.contains(&format!(" pid={egress} ")) && !start.contains(" ppid=1 "), "start line: {start}");
    c.kill("USR1")?;
    c.wait_logs("a second pipelock", |logs| pids_of(logs, "pipelock").len() == 2)?;
    let took = c.stop()?;
    let logs = c.logs()?;
    ensure_eq!(c.exit_code()?, 0, "logs:\n{logs}");
    ensure!(took < QUICK_STOP, "docker stop took {took:?}");
    ensure!(!logs.contains("to every process left in the container"), "a sweep; logs:\n{logs}");
    ensure!(has_line(&logs, "sidecar-init: exiting code=0"), "logs:\n{logs}");
    Ok(())
}
