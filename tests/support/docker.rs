//! Containers of any image in a real Docker engine, for tests that drive the
//! bundle the way Docker does (`docker run`, `docker kill --signal`,
//! `docker stop`). Used by docker.rs (the demo image) and prodlike.rs;
//! `DOCKER` names the client (default `docker`).
//!
//! A [`Container`] is removed when dropped, whether its test passed or not;
//! when the test failed, its `docker logs` are printed first.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
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
    let out = docker(args);
    assert!(
        out.status.success(),
        "`docker {}` failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An engine must answer and `image` must exist; says how to get them if not.
pub fn require_engine_and_image(image: &str, built_by: &str) {
    let info = docker(&["info", "--format", "{{.ServerVersion}}"]);
    assert!(
        info.status.success(),
        "no Docker engine answers (`docker info`: {}); start one with `tools/docker-engine start`",
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

/// A container, removed (`docker rm -f -v`) when dropped.
pub struct Container {
    pub name: String,
    patience: Duration,
}

impl Container {
    /// `docker create` with `options` (before the image) and `env` as `-e`
    /// pairs: the container exists but has not started. `patience` bounds
    /// every wait on it (log lines, its exit).
    pub fn create(image: &str, tag: &str, options: &[&str], env: &[(&str, &str)], patience: Duration) -> Container {
        let container = Container { name: unique_name(tag), patience };
        let mut args: Vec<String> =
            ["create", "--name", &container.name, "--label", &run_label()].map(String::from).to_vec();
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
    pub fn run(image: &str, tag: &str, options: &[&str], env: &[(&str, &str)], patience: Duration) -> Container {
        let container = Container::create(image, tag, options, env, patience);
        container.start();
        container
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
        self.inspect("{{.State.Running}}") == "true"
    }

    pub fn exit_code(&self) -> i32 {
        let code = self.inspect("{{.State.ExitCode}}");
        code.parse().unwrap_or_else(|_| panic!("exit code {code:?}"))
    }

    pub fn kill(&self, signal: &str) {
        docker_ok(&["kill", "--signal", signal, &self.name]);
    }

    /// `docker stop` with Docker's default 10 s timeout; returns how long it took.
    pub fn stop(&self) -> Duration {
        let start = Instant::now();
        docker_ok(&["stop", "--time", &DOCKER_STOP_TIMEOUT.as_secs().to_string(), &self.name]);
        start.elapsed()
    }

    /// Waits for the container to exit by itself; returns its exit code.
    pub fn wait_exit(&self) -> i32 {
        wait_until(self.patience, ASK_EVERY, &format!("{} to exit", self.name), || {
            (self.inspect("{{.State.Status}}") == "exited").then_some(())
        });
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
            eprint!("=== docker logs {} when the test failed\n{logs}", self.name);
        }
        let _ = Command::new(docker_bin())
            .args(["rm", "-f", "-v", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
