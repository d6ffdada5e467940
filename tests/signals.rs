//! Signals (SPEC: Signals, except the shutdown, in stopping.rs): SIGUSR1
//! restarts pipelock, SIGHUP goes to egress, every other signal is logged
//! once and ignored; the init blocks all but the fault signals and never
//! wakes up idle.
//!
//! The real binary as PID 1 of a new PID namespace with stand-in daemons:
//! see tests/README.md. Run with `make integration`.

mod support;

use support::*;

#[test]
fn sigusr1_restarts_pipelock_alone_and_the_container_keeps_running() {
    let init = Setup::new("usr1-restart").all_standins().start();
    let first = init.wait_started(&SLOTS);
    let old = first[1].pid;

    init.signal(SIGUSR1);
    let runs = init.wait_starts("pipelock", 2);
    let new = &runs[1];
    init.wait_stderr(&format!("pipelock started pid={}", new.pid));
    assert_ne!(new.pid, old, "pipelock has a new pid");
    assert_eq!(
        (new.ppid, new.pgid, new.sid),
        (1, new.pid, new.pid),
        "the new pipelock is a session leader under PID 1"
    );

    init.assert_stderr_has(&format!("sidecar-init: restarting pipelock pid={old} (SIGUSR1)"));
    init.assert_stderr_has(&format!("sidecar-init: pipelock exited pid={old} signal=SIGTERM"));
    // The old run saw SIGTERM before the new one started (one log, both runs).
    let report = init.report("pipelock");
    let between: Vec<&str> = report
        .lines()
        .skip_while(|l| Start::parse("pipelock", l).is_none())
        .skip(1)
        .take_while(|l| Start::parse("pipelock", l).is_none())
        .collect();
    assert!(between.contains(&"pipelock signal 15 SIGTERM"), "old pipelock's SIGTERM: {between:?}");

    for (slot, before) in SLOTS.iter().zip(&first).filter(|(slot, _)| **slot != "pipelock") {
        assert_eq!(init.starts(slot), vec![before.clone()], "{slot} was not restarted");
        init.assert_report_lacks(slot, " signal ");
    }
    assert!(init.running(), "the init keeps running after the restart");

    // The replaced run does not count.
    init.stop_expecting(0);
}

#[test]
fn several_sigusr1_before_the_restart_completes_make_one_restart() {
    let init =
        Setup::new("usr1-coalesce").all_standins().standin("pipelock", &["--ignore-term"]).grace_ms(2000).start();
    let old = init.wait_started(&SLOTS)[1].pid;

    // Each USR1 only after the init has handled the previous one, so none
    // merges with another in the kernel; all within the 2 s grace.
    init.signal(SIGUSR1);
    init.wait_stderr(&format!("restarting pipelock pid={old} (SIGUSR1)"));
    for pending in 1..=3 {
        init.signal(SIGUSR1);
        init.wait_for(&format!("{pending} `restart already pending` line(s)"), |init| {
            (init.stderr().matches("pipelock restart already pending (SIGUSR1)").count() >= pending).then_some(())
        });
    }
    assert_eq!(init.starts("pipelock").len(), 1, "still the old pipelock: the USR1s came within the grace");

    init.wait_stderr(&format!("pipelock pid={old} outlived the grace; SIGKILL to its group"));
    let runs = init.wait_starts("pipelock", 2);
    init.wait_stderr(&format!("pipelock exited pid={old} signal=SIGKILL"));
    init.wait_stderr(&format!("pipelock started pid={}", runs[1].pid));

    init.stop();
    assert_eq!(init.stderr().matches("sidecar-init: restarting pipelock").count(), 1, "one restart");
    assert_eq!(init.starts("pipelock").len(), 2, "pipelock ran twice in all");
    // No second restart was left pending.
    init.assert_stderr_lacks("restart dropped");
}

#[test]
fn sigusr1_when_pipelock_is_not_selected_is_logged_as_skipped() {
    let init = Setup::new("usr1-unselected").all_standins().daemons("egress").start();
    init.wait_started(&["egress"]);
    init.signal(SIGUSR1);
    init.wait_stderr("sidecar-init: pipelock restart skipped: pipelock is not selected (SIGUSR1)");
    assert!(init.running(), "the init keeps running");
    init.stop_expecting(0);
    assert_eq!(init.scratch.files(), vec!["egress.log"], "no pipelock was started");
    assert_eq!(init.starts("egress").len(), 1, "egress untouched");
}

#[test]
fn sigusr1_starts_a_pipelock_that_had_died() {
    let init =
        Setup::new("usr1-down").all_standins().daemons("egress,pipelock").standin("pipelock", &["--exit", "4"]).start();
    let old = init.wait_started(&["egress", "pipelock"])[1].pid;
    init.wait_stderr(&format!("sidecar-init: pipelock exited pid={old} code=4"));
    init.signal(SIGUSR1);
    init.wait_stderr("sidecar-init: restarting pipelock, which was down, (SIGUSR1)");
    let new = init.wait_starts("pipelock", 2)[1].pid;
    init.wait_stderr(&format!("sidecar-init: pipelock started pid={new}"));
    // The new run exits 4 again on its own: it counts, as the last run.
    init.wait_stderr(&format!("sidecar-init: pipelock exited pid={new} code=4"));
    init.stop_expecting(4);
}

#[test]
fn sighup_reaches_egress_only() {
    let init = Setup::new("hup").all_standins().start();
    let egress = init.wait_started(&SLOTS)[0].pid;
    init.signal(SIGHUP);
    init.wait_report("egress", "egress signal 1 SIGHUP");
    init.wait_stderr(&format!("sidecar-init: SIGHUP forwarded to egress pid={egress}"));

    init.stop_expecting(0);
    for slot in ["pipelock", "git-gate", "supervise"] {
        // Each one did receive signals (the SIGTERM), just not SIGHUP.
        init.assert_report_has(slot, &format!("{slot} signal 15 SIGTERM"));
        init.assert_report_lacks(slot, "SIGHUP");
    }
}

#[test]
fn sighup_without_egress_is_logged_not_forwarded() {
    let init = Setup::new("hup-no-egress").all_standins().daemons("pipelock").start();
    init.wait_started(&["pipelock"]);
    init.signal(SIGHUP);
    init.wait_stderr("sidecar-init: SIGHUP not forwarded: egress is not running");
    init.stop_expecting(0);
    init.assert_report_lacks("pipelock", "SIGHUP");
}

#[test]
fn other_signals_are_logged_once_and_ignored() {
    let init = Setup::new("ignored").all_standins().daemons("egress").start();
    init.wait_started(&["egress"]);
    init.signal(SIGUSR2);
    init.wait_stderr("sidecar-init: ignoring SIGUSR2");
    init.signal(SIGUSR2);
    // Real-time signals queue; they are named as Docker names them (kernel
    // SIGRTMIN is 34). RTMIN+1..+4 restart slots; +6 is unrouted.
    init.signal(40);
    init.wait_stderr("sidecar-init: ignoring SIGRTMIN+6");
    init.signal(40);
    // TERM (15) is dequeued after USR2 (12) should both be pending at once,
    // and the real-time 40 after it: its second copy may go unseen.
    init.stop_expecting(0);
    assert_eq!(init.stderr().matches("ignoring SIGUSR2").count(), 1, "SIGUSR2 logged once");
    assert_eq!(init.stderr().matches("ignoring SIGRTMIN+6").count(), 1, "SIGRTMIN+6 logged once");
    // Not forwarded to egress.
    init.assert_report_lacks("egress", "SIGUSR2");
}

/// SPEC: "It blocks every signal except the synchronous fault signals".
/// SigBlk as the kernel shows it: all 64 bits but the seven faults and
/// KILL and STOP (which cannot be blocked).
#[test]
fn the_init_blocks_every_signal_but_the_faults() {
    let init = Setup::new("sigblk").all_standins().daemons("egress").start();
    init.wait_started(&["egress"]);
    let bit = |sig: u32| 1u64 << (sig - 1);
    let unblockable = [4, 5, 6, 7, 8, 11, 31, 9, 19].iter().fold(0, |m, &s| m | bit(s));
    let expected = format!("{:016x}", !unblockable);
    let blocked = proc_status_field(init.pid(), "SigBlk").expect("the init's SigBlk");
    init.stop();
    assert_eq!(blocked, expected, "the init's blocked signals (signals 32..34 are bits 31..33)");
}

/// Signal 34 is what `docker kill --signal RTMIN` sends; like any other
/// unrouted signal it must be logged and ignored, not kill the init.
#[test]
fn signal_34_is_logged_and_ignored_not_fatal() {
    let init = Setup::new("sig34").not_pid1().all_standins().daemons("egress").start();
    let egress = init.wait_started(&["egress"])[0].pid;
    // Not PID 1: should the signal kill the init, egress would outlive it.
    let _egress = KillOnDrop::Pid(egress);
    init.signal(34);
    let logged = init.wait_for("an `ignoring SIGRTMIN` line, or the init's death", |init| {
        if init.stderr().contains("sidecar-init: ignoring SIGRTMIN") {
            Some(true)
        } else {
            init.exit_status().map(|_| false)
        }
    });
    let status = init.exit_status().map(|s| describe(&s)).unwrap_or_default();
    assert!(logged, "signal 34 killed the init ({status}), orphaning egress");
    init.stop_expecting(0);
}

/// With nothing to do the init sleeps in one poll with no timeout: over an
/// idle second its context-switch counters do not move at all.
#[test]
fn an_idle_init_never_wakes_up() {
    let init = Setup::new("idle").all_standins().start();
    init.wait_started(&SLOTS);
    let (switches, cpu_ns) = init.idle_second();
    init.stop();
    assert_eq!(switches, [0, 0], "context switches of the idle init over one second");
    // A spinning init switches no context either: its CPU time must not move.
    assert_eq!(cpu_ns, 0, "CPU time of the idle init over one second");
}
