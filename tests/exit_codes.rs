//! Exit codes (SPEC: Exit): the highest code among the slots' last runs,
//! `128+N` for a death by signal N, and which ends after the init's own
//! SIGTERM are clean. The start failures' 127 and 126 are in startup.rs.
//!
//! The real binary as PID 1 of a new PID namespace with stand-in daemons:
//! see tests/README.md. Run with `make integration`.

mod support;

use support::*;

#[test]
fn a_daemon_that_exited_3_on_its_own_makes_the_init_exit_3() {
    let init = Setup::new("exit-3").all_standins().standin("git-gate", &["--exit", "3"]).start();
    let git_gate = init.wait_started(&SLOTS)[2].pid;
    init.wait_stderr(&format!("sidecar-init: git-gate exited pid={git_gate} code=3"));
    assert!(init.running(), "the siblings keep running");
    init.stop_expecting(3);
}

#[test]
fn when_every_daemon_dies_on_its_own_the_init_exits_with_the_highest_code() {
    let init = Setup::new("all-die")
        .standin("egress", &["--exit", "1", "--after", "50"])
        .standin("pipelock", &["--exit", "5", "--after", "100"])
        .standin("git-gate", &["--exit", "0"])
        .standin("supervise", &["--exit", "2", "--after", "150"])
        .start();
    init.expect_exit(5);
    init.assert_stderr_has("sidecar-init: every daemon has exited");
    init.assert_stderr_has("sidecar-init: exiting code=5");
    // No shutdown was asked.
    init.assert_stderr_lacks("shutting down");
}

#[test]
fn death_by_sigkill_on_its_own_counts_137() {
    let init =
        Setup::new("die-9").all_standins().daemons("egress,pipelock").standin("pipelock", &["--die", "9"]).start();
    init.wait_stderr("pipelock exited");
    init.assert_stderr_has("signal=SIGKILL");
    init.stop_expecting(137);
}

#[test]
fn exit_143_after_our_sigterm_is_clean() {
    let init = Setup::new("term-exit-143").all_standins().standin("egress", &["--term-exit", "143"]).start();
    let egress = init.wait_started(&SLOTS)[0].pid;
    init.stop_expecting(0);
    init.assert_stderr_has(&format!("egress exited pid={egress} code=143"));
}

#[test]
fn exit_1_after_our_sigterm_counts() {
    let init = Setup::new("term-exit-1").all_standins().standin("supervise", &["--term-exit", "1"]).start();
    init.wait_started(&SLOTS);
    init.stop_expecting(1);
}
