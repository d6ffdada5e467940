//! Reaping (SPEC: the SIGCHLD row of Signals, and "not PID 1" in Exit):
//! orphans are reaped quietly, as PID 1 or as a child subreaper, and a
//! subreaper makes no sweep.
//!
//! The real binary as PID 1 of a new PID namespace (or as a plain child)
//! with stand-in daemons: see tests/README.md. Run with `make integration`.

mod support;

use support::*;

#[test]
fn a_thousand_orphans_leave_no_zombie() {
    let init = Setup::new("orphans")
        .all_standins()
        .daemons("egress,pipelock")
        .standin("egress", &["--orphans", "1000"])
        .start();
    init.wait_started(&["egress", "pipelock"]);
    init.wait_report("egress", "egress orphans 1000 done");
    // Every orphan exits ~20 ms after birth; once reaped, only the two
    // daemons are left as the init's children. Zombies would stay.
    init.wait_for("only the two daemons left as the init's children, none a zombie", |init| {
        let kids = init.children();
        (kids.len() == 2 && init.zombie_children().is_empty()).then_some(())
    });
    assert_eq!(init.stderr().lines().count(), 2, "the orphans went unmentioned: two `started` lines only");
    init.stop_expecting(0);
}

#[test]
fn not_pid1_it_reaps_orphans_as_subreaper_and_makes_no_sweep() {
    let init = Setup::new("subreaper")
        .not_pid1()
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--stray", "--orphans", "50"])
        .grace_ms(300)
        .start();
    let start = init.wait_started(&["egress"]).remove(0);
    let egress = start.pid;
    assert_eq!(start.ppid, init.pid(), "egress is the init's child (host pids: not PID 1)");
    let stray_line = init.wait_report("egress", "egress-stray start");
    let stray = report_field(&stray_line, "pid");
    // No sweep: the stray outlives the init.
    let _stray = KillOnDrop::Pid(stray);
    assert_eq!(
        report_field(&stray_line, "ppid"),
        init.pid(),
        "the orphaned stray was re-parented to the init (subreaper)"
    );
    init.wait_report("egress", "egress orphans 50 done");
    let mut daemon_and_stray = vec![egress, stray];
    daemon_and_stray.sort_unstable();
    init.wait_for("only egress and the stray left as children, no zombie", |init| {
        (init.children() == daemon_and_stray && init.zombie_children().is_empty()).then_some(())
    });
    assert_eq!(init.stderr().lines().count(), 1, "the orphans went unmentioned: one `started` line only");

    init.stop_expecting(0);
    // No sweep when not PID 1.
    init.assert_stderr_lacks("to every process left");
    assert!(alive(stray), "the stray outlived the init");
    init.assert_report_lacks("egress", "egress-stray signal");
}
