//! The offline demo image (`make demo-image`: FROM scratch, sidecar-init plus
//! the stand-in daemon in every slot) in a real engine, and reading its logs:
//! shared by docker.rs (Docker's own features) and engines.rs (the core
//! checks under Docker, podman and containerd).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::docker::{docker_ok, has_line, pids_of, require_engine_and_image, Container};

const DEFAULT_IMAGE: &str = "claude-bottle-sidecars-demo:latest";
/// "Well under Docker's 10 s" for a stop whose daemons obey SIGTERM.
pub const QUICK_STOP: Duration = Duration::from_secs(3);
/// How long a daemon's start, a log line or an exit may take on a busy box
/// (or under qemu, for the arm64 image).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The four slots in start order, with their demo ports.
pub const SLOT_PORTS: [(&str, u16); 4] =
    [("egress", 9099), ("pipelock", 8888), ("git-gate", 9418), ("supervise", 9100)];

/// `SIDECAR_DEMO_IMAGE`, default `claude-bottle-sidecars-demo:latest`.
pub fn image() -> String {
    std::env::var("SIDECAR_DEMO_IMAGE").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_IMAGE.into())
}

/// Every test starts here: an engine must answer and the image must exist.
pub fn preconditions() {
    static CHECKED: AtomicBool = AtomicBool::new(false);
    if CHECKED.load(Ordering::SeqCst) {
        return;
    }
    require_engine_and_image(&image(), "make demo-image");
    // SIDECAR_PLATFORM=linux/arm64 must test an arm64 image, not a host one that happens to run.
    if let Some(platform) = std::env::var("SIDECAR_PLATFORM").ok().filter(|p| !p.is_empty()) {
        let got = docker_ok(&["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", &image()]);
        assert_eq!(got, platform, "the platform of {}", image());
    }
    CHECKED.store(true, Ordering::SeqCst);
}

/// A container of the demo image, created but not started.
pub fn demo_created(tag: &str) -> Container {
    preconditions();
    Container::create(&image(), tag, &[], &[], PATIENCE)
}

/// A running container of the demo image, created with `options` (before the
/// image) and `env` as `-e` pairs, then started (as `docker run -d`).
pub fn demo_run(tag: &str, options: &[&str], env: &[(&str, &str)]) -> Container {
    preconditions();
    Container::run(&image(), tag, options, env, PATIENCE)
}

/// The one pid a slot was started with.
pub fn pid_of(logs: &str, slot: &str) -> i32 {
    match pids_of(logs, slot)[..] {
        [pid] => pid,
        ref pids => panic!("{slot} started {} times", pids.len()),
    }
}

pub fn count(logs: &str, pred: impl Fn(&str) -> bool) -> usize {
    logs.lines().filter(|l| pred(l)).count()
}

pub fn assert_line(logs: &str, line: &str) {
    assert!(has_line(logs, line), "no line `{line}` in the logs");
}

pub fn all_ports() -> Vec<u16> {
    SLOT_PORTS.iter().map(|(_, port)| *port).collect()
}

/// Sends `signal` (Docker's name: `USR1`, `RTMIN+2`) to a running demo
/// container and checks that pipelock, and nothing else, was restarted in
/// place: a new pid listening, the old one ended by the init's SIGTERM, the
/// siblings untouched and unsignalled. Returns the logs then.
pub fn assert_restarts_pipelock_alone(c: &Container, signal: &str, logged_as: &str) -> String {
    let before = c.wait_listening(&SLOT_PORTS);
    let old = pid_of(&before, "pipelock");
    c.kill(signal);
    let after = c.wait_logs("a second pipelock listening", |logs| {
        count(logs, |l| l == "[pipelock] pipelock listening port=8888") == 2 && pids_of(logs, "pipelock").len() == 2
    });
    let new = pids_of(&after, "pipelock")[1];
    assert_ne!(new, old, "pipelock has a new pid");
    assert_line(&after, &format!("sidecar-init: restarting pipelock pid={old} ({logged_as})"));
    assert_line(&after, &format!("sidecar-init: pipelock exited pid={old} signal=SIGTERM"));
    assert_line(&after, "[pipelock] pipelock exiting on SIGTERM");
    assert!(c.running(), "the container stopped on {signal}");
    for (slot, _) in SLOT_PORTS.iter().filter(|(s, _)| *s != "pipelock") {
        assert_eq!(pid_of(&after, slot), pid_of(&before, slot), "{slot} has a new pid");
        let got_signal = format!("[{slot}] {slot} signal");
        assert_eq!(count(&after, |l| l.starts_with(&got_signal)), 0, "{slot} got a signal");
        let exited = format!("sidecar-init: {slot} exited");
        assert_eq!(count(&after, |l| l.starts_with(&exited)), 0, "{slot} exited");
    }
    after
}
