//! The demo image's core checks under every engine the bundle runs on:
//! Docker (`make docker-test`, also with the arm64 image under qemu), podman
//! (`make podman-test`) and containerd through `ctr` (`make containerd-test`).
//! USR1 replaces pipelock only, HUP reaches egress, a stop exits 0 fast, a
//! daemon's exit code becomes the container's, and an init in front
//! (`--init`) leaves the init a working subreaper. Docker-only features are
//! in docker.rs.
//!
//! Environment: `SIDECAR_DEMO_IMAGE`, and the engine as support::docker
//! reads it: `DOCKER` (a Docker-compatible client: docker, podman),
//! `SIDECAR_ENGINE=containerd`, `SIDECAR_PLATFORM`. With no engine or no
//! image every test fails; none is skipped.

mod support;

use support::demo::{assert_line, assert_restarts_pipelock_alone, count, demo_run, pid_of, QUICK_STOP, SLOT_PORTS};
use support::docker::pids_of;

#[test]
fn usr1_restarts_pipelock_and_leaves_the_others_alone() {
    let c = demo_run("usr1", &[], &[]);
    assert_restarts_pipelock_alone(&c, "USR1", "SIGUSR1");
    c.stop();
    assert_eq!(c.exit_code(), 0, "the replaced run must not count");
}

#[test]
fn hup_reaches_egress_only() {
    let c = demo_run("hup", &[], &[]);
    let logs = c.wait_listening(&SLOT_PORTS);
    let egress = pid_of(&logs, "egress");
    c.kill("HUP");
    c.wait_line("[egress] egress signal 1 SIGHUP");
    assert!(c.running(), "the container stopped on SIGHUP");
    c.stop();
    // Once the container has exited its logs are complete.
    let logs = c.logs();
    assert_line(&logs, &format!("sidecar-init: SIGHUP forwarded to egress pid={egress}"));
    assert_eq!(count(&logs, |l| l.ends_with(" signal 1 SIGHUP")), 1, "SIGHUP reached one daemon");
    assert_eq!(c.exit_code(), 0, "exit code");
}

#[test]
fn stop_exits_0_well_under_the_engines_timeout() {
    let c = demo_run("stop", &[], &[]);
    c.wait_listening(&SLOT_PORTS);
    let took = c.stop();
    let logs = c.logs();
    eprintln!("stop of four stand-ins that obey SIGTERM took {took:?}");
    assert_eq!(c.exit_code(), 0, "exit code");
    assert!(took < QUICK_STOP, "the stop took {took:?}");
    assert_line(&logs, "sidecar-init: shutting down (SIGTERM); grace 8000 ms");
    for (slot, _) in SLOT_PORTS {
        assert_line(&logs, &format!("[{slot}] {slot} exiting on SIGTERM"));
    }
    assert_line(&logs, "sidecar-init: exiting code=0");
}

#[test]
fn a_daemon_exit_code_becomes_the_containers() {
    let c = demo_run("exit3", &[], &[("CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE", "/standin git-gate --exit 3")]);
    let logs = c.wait_logs("git-gate's exit", |logs| {
        logs.lines().any(|l| l.starts_with("sidecar-init: git-gate exited pid=") && l.ends_with(" code=3"))
    });
    assert_line(&logs, "[git-gate] git-gate exiting code=3");
    let others: Vec<_> = SLOT_PORTS.iter().copied().filter(|(s, _)| *s != "git-gate").collect();
    c.wait_listening(&others);
    assert!(c.running(), "the siblings must keep running");
    c.stop();
    assert_eq!(c.exit_code(), 3, "the container's exit code");
    assert_line(&c.logs(), "sidecar-init: exiting code=3");
}

#[test]
fn behind_an_init_in_front_it_reaps_as_a_subreaper_and_makes_no_sweep() {
    // --init puts the engine's init first (Docker's tini, podman's
    // catatonit; under containerd, Docker's tini bound in as Docker does it):
    // sidecar-init is then not PID 1.
    let c = demo_run("init-in-front", &["--init"], &[]);
    let logs = c.wait_listening(&SLOT_PORTS);
    let egress = pid_of(&logs, "egress");
    let start = logs.lines().find(|l| l.starts_with("[egress] egress start ")).expect("egress's start line");
    assert!(start.contains(&format!(" pid={egress} ")) && !start.contains(" ppid=1 "), "start line: {start}");
    c.kill("USR1");
    c.wait_logs("a second pipelock", |logs| pids_of(logs, "pipelock").len() == 2);
    let took = c.stop();
    let logs = c.logs();
    assert_eq!(c.exit_code(), 0, "exit code");
    assert!(took < QUICK_STOP, "the stop took {took:?}");
    assert!(!logs.contains("to every process left in the container"), "a sweep");
    assert_line(&logs, "sidecar-init: exiting code=0");
}
