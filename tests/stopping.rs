//! Stopping (SPEC: the SIGTERM/SIGINT row of Signals, and the sweep of
//! Exit): SIGTERM to every daemon, SIGKILL at the grace deadline, a second
//! request or a pending restart changes nothing, then the sweep of whatever
//! is left in the container with one deadline per stop.
//!
//! The real binary as PID 1 of a new PID namespace with stand-in daemons:
//! see tests/README.md. Run with `make integration`.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

#[test]
fn sigint_shuts_down_like_sigterm() {
    let init = Setup::new("sigint").all_standins().start();
    init.wait_started(&SLOTS);
    init.signal(SIGINT);
    init.expect_exit(0);
    init.assert_stderr_has("sidecar-init: shutting down (SIGINT); grace 8000 ms");
    for slot in SLOTS {
        init.assert_report_has(slot, &format!("{slot} signal 15 SIGTERM"));
    }
}

#[test]
fn second_sigterm_during_shutdown_changes_nothing() {
    let init = Setup::new("second-term")
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--ignore-term"])
        .grace_ms(1500)
        .start();
    init.wait_started(&["egress"]);
    let sent = Instant::now();
    init.signal(SIGTERM);
    init.wait_stderr("shutting down (SIGTERM); grace 1500 ms");
    init.signal(SIGINT);
    init.wait_stderr("SIGINT changes nothing: already shutting down");
    let exit = init.expect_exit(0);
    let took = exit.at - sent;
    assert!(took >= Duration::from_millis(1450), "the second request shortened the grace: {took:?}");
    assert_eq!(init.report("egress").matches("signal 15 SIGTERM").count(), 1, "egress got one SIGTERM");
}

#[test]
fn sigterm_during_a_restart_drops_it_and_keeps_the_restarts_deadline() {
    let init = Setup::new("usr1-then-term")
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--ignore-term"])
        .grace_ms(1000)
        .start();
    let old = init.wait_started(&["egress", "pipelock"])[1].pid;
    let restart_sent = Instant::now();
    init.signal(SIGUSR1);
    init.wait_stderr(&format!("restarting pipelock pid={old} (SIGUSR1)"));
    init.signal(SIGTERM);
    init.wait_stderr("sidecar-init: pending pipelock restart dropped: shutting down");
    let exit = init.expect_exit(0);
    let took = exit.at - restart_sent;
    assert_eq!(init.starts("pipelock").len(), 1, "no new pipelock after the shutdown began");
    init.assert_stderr_has(&format!("pipelock pid={old} outlived the grace"));
    assert!(took >= Duration::from_millis(990), "SIGKILL came before the restart's grace: {took:?}");
    assert!(took < Duration::from_secs(5), "exited only after {took:?}");
}

#[test]
fn a_daemon_ignoring_sigterm_is_sigkilled_at_the_grace_deadline() {
    let init = Setup::new("grace-kill")
        .all_standins()
        .daemons("egress,pipelock")
        .standin("egress", &["--ignore-term"])
        .grace_ms(500)
        .start();
    let egress = init.wait_started(&["egress", "pipelock"])[0].pid;
    let sent = Instant::now();
    // SIGKILL after our SIGTERM is a clean end.
    let exit = init.stop_expecting(0);
    let took = exit.at - sent;

    assert!(took >= Duration::from_millis(490), "exited after {took:?}, before the 500 ms grace");
    assert!(took < Duration::from_secs(5), "exited only after {took:?}");
    init.assert_stderr_has("sidecar-init: shutting down (SIGTERM); grace 500 ms");
    init.assert_stderr_has(&format!("sidecar-init: egress pid={egress} outlived the grace; SIGKILL to its group"));
    init.assert_stderr_has(&format!("sidecar-init: egress exited pid={egress} signal=SIGKILL"));
    // egress got SIGTERM first; pipelock stopped in time, no SIGKILL for it.
    init.assert_report_has("egress", "egress signal 15 SIGTERM");
    init.assert_stderr_lacks("pipelock pid=");
}

#[test]
fn strays_get_sigterm_then_sigkill_at_the_stop_deadline() {
    let init =
        Setup::new("sweep").all_standins().daemons("egress").standin("egress", &["--stray"]).grace_ms(700).start();
    init.wait_started(&["egress"]);
    init.wait_report("egress", "egress-stray start");
    let container = init.children();
    assert_eq!(container.len(), 2, "egress and its stray are the init's children");

    let sent = Instant::now();
    let exit = init.stop_expecting(0);
    let took = exit.at - sent;
    // The stray was warned.
    init.assert_report_has("egress", "egress-stray signal 15 SIGTERM");
    let stderr = init.stderr();
    let term = stderr.find("sidecar-init: SIGTERM to every process left in the container");
    let kill = stderr.find("sidecar-init: SIGKILL to every process left in the container");
    assert!(matches!((term, kill), (Some(t), Some(k)) if t < k), "the sweep's SIGTERM, then its SIGKILL");
    assert!(took >= Duration::from_millis(690), "exited after {took:?}, before the 700 ms grace");
    assert!(took < Duration::from_secs(5), "exited only after {took:?}");
    for pid in container {
        assert!(!alive(pid), "host pid {pid} of the container survived");
    }
}

#[test]
fn when_every_daemon_dies_on_its_own_strays_get_the_grace_from_the_sweep_start() {
    let init = Setup::new("sweep-after-death")
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--stray", "--exit", "0"])
        .grace_ms(600)
        .start();
    init.wait_stderr("sidecar-init: SIGTERM to every process left in the container");
    let seen = Instant::now();
    let exit = init.expect_exit(0);
    let took = exit.at - seen;
    init.assert_stderr_has("sidecar-init: every daemon has exited");
    init.assert_stderr_has("sidecar-init: SIGKILL to every process left in the container");
    // The stray was warned.
    init.assert_report_has("egress", "egress-stray signal 15 SIGTERM");
    // Seen up to a poll period (and a scheduling hiccup) after it was sent.
    assert!(took >= Duration::from_millis(500), "SIGKILL came {took:?} after the sweep's SIGTERM, grace 600 ms");
    assert!(took < Duration::from_secs(5), "exited only after {took:?}");
}

/// `docker exec` processes live in the container but are not the init's
/// children; the sweep still gives them SIGTERM and the grace.
#[test]
fn the_sweep_waits_for_processes_that_are_not_the_inits_children() {
    let setup = Setup::new("nonchild").daemons("egress").standin("egress", &[]).grace_ms(800);
    let report = setup.scratch_path().to_path_buf();
    let init = setup.start();
    init.wait_stderr("egress started");
    // Like `docker exec`: entered from outside, parented outside.
    let nsenter = Command::new("nsenter")
        .args(["-t", &init.pid().to_string(), "-p", "-m", "--"])
        .arg(standin_bin())
        .args(["outsider", "--ignore-term"])
        .env("STANDIN_REPORT", &report)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("nsenter: {e}"));
    let _nsenter = KillOnDrop::Child(nsenter);
    init.wait_report("outsider", "outsider start");
    let asked = Instant::now();
    init.stop_expecting(0);
    let took = asked.elapsed();
    // The sweep's SIGTERM reached the outsider.
    init.assert_report_has("outsider", "outsider signal 15 SIGTERM");
    assert!(took >= Duration::from_millis(780), "exited after {took:?}, before the grace ran out");
}
