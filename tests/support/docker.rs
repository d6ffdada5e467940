//! Containers of any image in a real engine, for tests that drive the
//! bundle the way an engine does (`docker run`, `docker kill --signal`,
//! `docker stop`). Used by docker.rs (the demo image), engines.rs (the demo
//! image's core checks under each engine) and prodlike.rs.
//!
//! Engines: `DOCKER` names a Docker-compatible client (default `docker`;
//! `podman` is one). `SIDECAR_ENGINE=containerd` drives containerd through
//! `ctr` instead (its socket and namespace from `CONTAINERD_ADDRESS` and
//! `CONTAINERD_NAMESPACE`): a container is a foreground `ctr run`, whose
//! output is the container's logs and whose exit status is the container's.
//! `SIDECAR_PLATFORM` (e.g. `linux/arm64`) is passed as `--platform` to
//! a Docker-compatible client's `create`.
//!
//! A [`Container`] is removed when dropped, whether its test passed or not;
//! when the test failed, its logs are printed first.

use std::cell::RefCell;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::{started, wait_until};

/// Docker's own stop timeout: past it, Docker SIGKILLs the init.
pub const DOCKER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `docker logs` or `docker inspect` is asked again while waiting.
pub const ASK_EVERY: Duration = Duration::from_millis(100);

pub fn docker_bin() -> String {
    std::env::var("DOCKER").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "docker".into())
}

/// Runs docker and returns what it did, whether it succeeded or not.
pub fn docker(args: &[&str]) -> Output {
    Command::new(docker_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{} {}`: {e}", docker_bin(), args.join(" ")))
}

/// Runs docker, insists on success, returns its trimmed stdout.
pub fn docker_ok(args: &[&str]) -> String {
    succeeded(&docker_bin(), args, docker(args))
}

/// `out`'s trimmed stdout, when `program args` succeeded; a failure panics with what it said.
fn succeeded(program: &str, args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether the engine is containerd, driven through `ctr`.
pub fn containerd() -> bool {
    std::env::var("SIDECAR_ENGINE").is_ok_and(|e| e == "containerd")
}

/// Runs ctr (containerd's client) and returns what it did.
fn ctr(args: &[&str]) -> Output {
    Command::new("ctr")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ctr {}`: {e}", args.join(" ")))
}

/// Runs ctr, insists on success, returns its trimmed stdout.
fn ctr_ok(args: &[&str]) -> String {
    succeeded("ctr", args, ctr(args))
}

/// An engine must answer and `image` must exist; says how to get them if not.
pub fn require_engine_and_image(image: &str, built_by: &str) {
    if containerd() {
        let version = ctr(&["version"]);
        assert!(
            version.status.success(),
            "no containerd answers (`ctr version`: {}); start one with `tools/containerd-engine start`",
            String::from_utf8_lossy(&version.stderr).trim()
        );
        let images = ctr_ok(&["images", "list", "--quiet"]);
        assert!(images.lines().any(|i| i == image), "image {image} is missing from containerd: `{built_by}`");
        return;
    }
    // No --format: docker's and podman's info templates have different fields.
    let info = docker(&["info"]);
    assert!(
        info.status.success(),
        "no engine answers (`{} info`: {}); start one with `tools/docker-engine start` (or tools/podman-engine)",
        docker_bin(),
        String::from_utf8_lossy(&info.stderr).trim()
    );
    let out = docker(&["image", "inspect", "--format", "{{.Id}}", image]);
    assert!(out.status.success(), "image {image} is missing: build it with `{built_by}`");
}

/// Every container of this test run carries this label.
pub fn run_label() -> String {
    format!("sidecar-init-test-run={}", std::process::id())
}

fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("a clock after 1970").subsec_nanos();
    format!("sidecar-init-test-{tag}-{}-{}-{nanos:x}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A container, removed (`docker rm -f -v`, or its containerd task killed
/// and the container deleted) when dropped.
pub struct Container {
    pub name: String,
    patience: Duration,
    /// containerd only: the foreground `ctr run`.
    ctr: Option<RefCell<CtrRun>>,
}

/// A foreground `ctr run`: the container's stdout and stderr go to files,
/// and its exit status is the container's.
struct CtrRun {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    code: Option<i32>,
}

/// Where docker's `--init` comes from on the host (Debian's docker.io: a static tini).
const DOCKER_INIT: &str = "/usr/bin/docker-init";

impl Container {
    /// `docker create` with `options` (before the image) and `env` as `-e`
    /// pairs: the container exists but has not started. `patience` bounds
    /// every wait on it (log lines, its exit).
    pub fn create(image: &str, tag: &str, options: &[&str], env: &[(&str, &str)], patience: Duration) -> Container {
        assert!(!containerd(), "a created, not started, container is for Docker-compatible clients only");
        let container = Container { name: unique_name(tag), patience, ctr: None };
        let mut args: Vec<String> =
            ["create", "--name", &container.name, "--label", &run_label()].map(String::from).to_vec();
        if let Some(platform) = std::env::var("SIDECAR_PLATFORM").ok().filter(|p| !p.is_empty()) {
            args.extend(["--platform".to_string(), platform]);
        }
        args.extend(options.iter().map(|s| s.to_string()));
        for (key, value) in env {
            args.push("-e".into());
            args.push(format!("{key}={value}"));
        }
        args.push(image.to_string());
        docker_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        container
    }

    /// [`Container::create`], then [`Container::start`]: what `docker run -d` does.
    /// Under containerd, a foreground `ctr run` in the background; its only
    /// option is `--init`, done as Docker does it: Docker's own init bound
    /// into the container and run in front of the image's entry point.
    pub fn run(image: &str, tag: &str, options: &[&str], env: &[(&str, &str)], patience: Duration) -> Container {
        if !containerd() {
            let container = Container::create(image, tag, options, env, patience);
            container.start();
            return container;
        }
        let name = unique_name(tag);
        let mut args: Vec<String> = vec!["run".into(), "--label".into(), run_label()];
        for (key, value) in env {
            args.extend(["--env".to_string(), format!("{key}={value}")]);
        }
        let mut command: Vec<String> = Vec::new();
        for option in options {
            assert_eq!(*option, "--init", "option {option} is not supported under containerd");
            args.push("--mount".into());
            args.push(format!("type=bind,src={DOCKER_INIT},dst=/sbin/docker-init,options=rbind:ro"));
            command = ["/sbin/docker-init", "--", "/app/sidecar-init"].map(String::from).to_vec();
        }
        args.extend([image.to_string(), name.clone()]);
        args.extend(command);
        let dir = std::env::temp_dir();
        let (out, err) = (dir.join(format!("{name}.out")), dir.join(format!("{name}.err")));
        let file = |path: &Path| std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let child = Command::new("ctr")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(file(&out))
            .stderr(file(&err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `ctr {}`: {e}", args.join(" ")));
        let container = Container { name, patience, ctr: Some(RefCell::new(CtrRun { child, out, err, code: None })) };
        // The task exists once ctr has created it: signals before that would find none.
        wait_until(patience, ASK_EVERY, &format!("{}'s task", container.name), || {
            ctr(&["task", "list", "--quiet"])
                .stdout
                .split(|&b| b == b'\n')
                .any(|t| t == container.name.as_bytes())
                .then_some(())
        });
        container
    }

    /// containerd: the container's exit code once `ctr run` has ended, if it has.
    fn ctr_code(&self) -> Option<i32> {
        let mut run = self.ctr.as_ref()?.borrow_mut();
        if run.code.is_none() {
            let status = run.child.try_wait().unwrap_or_else(|e| panic!("ctr run {}: {e}", self.name));
            // ctr exits with the task's status; a task killed by a signal reports 128+N.
            run.code = status.map(|s| s.code().unwrap_or(-1));
        }
        run.code
    }

    pub fn start(&self) {
        docker_ok(&["start", &self.name]);
    }

    /// Copies a host file into the container (which may not be running yet).
    pub fn copy_in(&self, from: &Path, to: &str) {
        docker_ok(&["cp", &from.to_string_lossy(), &format!("{}:{to}", self.name)]);
    }

    /// `docker exec` of a command; insists on success, returns its stdout.
    pub fn exec(&self, command: &[&str]) -> String {
        let mut args = vec!["exec", self.name.as_str()];
        args.extend_from_slice(command);
        docker_ok(&args)
    }

    /// stdout then stderr of `docker logs`: daemon lines (prefixed) are on
    /// the first, the init's own lines on the second.
    pub fn logs(&self) -> String {
        self.logs_or_why().unwrap_or_else(|why| panic!("{why}"))
    }

    fn logs_or_why(&self) -> Result<String, String> {
        if let Some(run) = &self.ctr {
            let run = run.borrow();
            let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
            let mut text = String::from_utf8_lossy(&read(&run.out)?).into_owned();
            text.push_str(&String::from_utf8_lossy(&read(&run.err)?));
            return Ok(text);
        }
        let out = Command::new(docker_bin())
            .args(["logs", &self.name])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run `docker logs {}`: {e}", self.name))?;
        if !out.status.success() {
            return Err(format!("docker logs {}: {}", self.name, String::from_utf8_lossy(&out.stderr)));
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(text)
    }

    /// Polls `docker logs` until `done` holds; returns the logs then.
    pub fn wait_logs(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        wait_until(self.patience, ASK_EVERY, &format!("{what} in the logs of {}", self.name), || {
            let logs = self.logs();
            done(&logs).then_some(logs)
        })
    }

    pub fn wait_line(&self, line: &str) -> String {
        self.wait_logs(&format!("line `{line}`"), |logs| has_line(logs, line))
    }

    /// Waits until each given slot's stand-in (standin/src/main.rs) is
    /// listening on its port (so its signals are blocked and read from its
    /// signalfd); returns the logs then.
    pub fn wait_listening(&self, slots: &[(&str, u16)]) -> String {
        let lines: Vec<String> = slots.iter().map(|(s, port)| format!("[{s}] {s} listening port={port}")).collect();
        self.wait_logs("stand-ins listening", |logs| lines.iter().all(|want| has_line(logs, want)))
    }

    pub fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "--format", format, &self.name])
    }

    pub fn ip(&self) -> String {
        let ip = self.inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
        assert!(!ip.is_empty(), "{} has no IP address", self.name);
        ip
    }

    pub fn running(&self) -> bool {
        if self.ctr.is_some() {
            return self.ctr_code().is_none();
        }
        self.inspect("{{.State.Running}}") == "true"
    }

    pub fn exit_code(&self) -> i32 {
        if self.ctr.is_some() {
            return self.ctr_code().unwrap_or_else(|| panic!("{} is still running", self.name));
        }
        let code = self.inspect("{{.State.ExitCode}}");
        code.parse().unwrap_or_else(|_| panic!("exit code {code:?}"))
    }

    pub fn kill(&self, signal: &str) {
        if self.ctr.is_some() {
            ctr_ok(&["task", "kill", "--signal", &format!("SIG{signal}"), &self.name]);
            return;
        }
        docker_ok(&["kill", "--signal", signal, &self.name]);
    }

    /// `docker stop` with Docker's default 10 s timeout; returns how long it
    /// took. Under containerd, what `docker stop` does, by hand: SIGTERM to
    /// the task, SIGKILL if it is still running 10 s later.
    pub fn stop(&self) -> Duration {
        let start = Instant::now();
        if self.ctr.is_none() {
            docker_ok(&["stop", "--time", &DOCKER_STOP_TIMEOUT.as_secs().to_string(), &self.name]);
            return start.elapsed();
        }
        self.kill("TERM");
        while self.ctr_code().is_none() && start.elapsed() < DOCKER_STOP_TIMEOUT {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.ctr_code().is_none() {
            let _ = ctr(&["task", "kill", "--signal", "SIGKILL", &self.name]);
            wait_until(self.patience, ASK_EVERY, &format!("{} to exit after SIGKILL", self.name), || self.ctr_code());
        }
        start.elapsed()
    }

    /// Waits for the container to exit by itself; returns its exit code.
    pub fn wait_exit(&self) -> i32 {
        wait_until(self.patience, ASK_EVERY, &format!("{} to exit", self.name), || (!self.running()).then_some(()));
        self.exit_code()
    }

    /// Every port answers a TCP connect at the container's address.
    pub fn assert_ports_answer(&self, ports: &[u16]) {
        let ip = self.ip();
        for port in ports {
            let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap_or_else(|e| panic!("{ip}:{port}: {e}"));
            if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                panic!("port {port} does not answer at {addr}: {e}");
            }
        }
    }

    /// [`pids_of`] these logs.
    pub fn pids_of(&self, logs: &str, slot: &str) -> Vec<i32> {
        pids_of(logs, slot)
    }
}

/// The pids a slot was started with, in order, from the init's log lines.
pub fn pids_of(logs: &str, slot: &str) -> Vec<i32> {
    started(logs).into_iter().filter(|(s, _)| s == slot).map(|(_, pid)| pid).collect()
}

/// Whether the logs hold this whole line.
pub fn has_line(logs: &str, line: &str) -> bool {
    logs.lines().any(|l| l == line)
}

impl Drop for Container {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.logs_or_why().unwrap_or_else(|why| format!("(no logs: {why})"));
            eprint!("=== logs of {} when the test failed\n{logs}", self.name);
        }
        if let Some(run) = &self.ctr {
            let mut run = run.borrow_mut();
            if run.code.is_none() {
                let _ = ctr(&["task", "kill", "--signal", "SIGKILL", &self.name]);
                let _ = run.child.wait();
            }
            let _ = ctr(&["task", "delete", &self.name]);
            let _ = ctr(&["container", "delete", &self.name]);
            let _ = std::fs::remove_file(&run.out);
            let _ = std::fs::remove_file(&run.err);
            return;
        }
        let _ = Command::new(docker_bin())
            .args(["rm", "-f", "-v", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
