//! The restart policy (SPEC: Restart policy (opt-in), the SIGRTMIN+1…+4 row
//! of Signals, and Exit for slots down for good): crash loops restarted
//! with growing gaps and then failed, the count reset by a 10 s run,
//! essential slots taking the bundle down with their code, `kill -s
//! RTMIN+k` restarting exactly one slot, and no wake-ups with nothing
//! pending.
//!
//! The real binary as PID 1 of a new PID namespace with stand-in daemons
//! (and /bin/sh for daemons whose runs differ): see tests/README.md. Run
//! with `make integration`.

mod support;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use support::*;

const RESTART: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART";
const DELAY: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY_MS";
const LIMIT: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT";
const ESSENTIAL: &str = "CLAUDE_BOTTLE_SIDECAR_ESSENTIAL";

/// A slot's command that runs `script` with /bin/sh: `$STANDIN_REPORT`
/// (the scratch directory) keeps what one run leaves for the next.
fn shell(setup: Setup, slot: &str, script: &str) -> Setup {
    assert!(!script.contains('\''), "the script goes between single quotes");
    setup.command(slot, &format!("/bin/sh -c '{script}'"))
}

/// A script that counts its runs in `$STANDIN_REPORT/runs` and runs
/// `first` on its first run, `later` on every other.
fn by_run(first: &str, later: &str) -> String {
    format!(
        "n=$(cat \"$STANDIN_REPORT/runs\" 2>/dev/null || echo 0); echo $((n+1)) > \"$STANDIN_REPORT/runs\"; \
         if [ \"$n\" = 0 ]; then {first}; else {later}; fi"
    )
}

/// When the test saw each `<slot> started` line of the init, polling its
/// stderr every 2 ms, until there are `count` of them.
fn watch_starts(init: &Init, slot: &str, count: usize) -> Vec<Instant> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while seen.len() < count {
        let lines = started(&init.stderr()).iter().filter(|(s, _)| s == slot).count();
        while seen.len() < lines {
            seen.push(Instant::now());
        }
        assert!(Instant::now() < deadline, "{} of {count} `{slot} started` lines after {PATIENCE:?}", seen.len());
        thread::sleep(Duration::from_millis(2));
    }
    seen
}

fn count_lines(init: &Init, needle: &str) -> usize {
    init.stderr().lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn a_crash_loop_is_restarted_with_doubling_gaps_then_failed_at_the_limit() {
    let init = Setup::new("crash-loop")
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--exit", "1"])
        .env(RESTART, "pipelock")
        .env(DELAY, "150")
        .env(LIMIT, "3")
        .start();
    let starts = watch_starts(&init, "pipelock", 4);
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("gaps between pipelock's starts: {gaps:?}");
    // SPEC: 150 × 2^(c−1) after the c-th quick death. Seen by polling: a
    // little early or late; the run itself and a busy machine add a bit.
    for (gap, delay) in gaps.iter().zip([150u64, 300, 600]) {
        let delay = Duration::from_millis(delay);
        assert!(*gap + Duration::from_millis(20) >= delay, "gap {gap:?} is shorter than the {delay:?} delay");
        assert!(*gap <= delay + Duration::from_millis(250), "gap {gap:?} is far longer than the {delay:?} delay");
    }
    assert!(gaps[1] > gaps[0] + Duration::from_millis(100) && gaps[2] > gaps[1] + Duration::from_millis(200));
    for (delay, c) in [(150, 1), (300, 2), (600, 3)] {
        init.assert_stderr_has(&format!(
            "sidecar-init: pipelock restarting in {delay} ms (quick deaths in a row: {c})"
        ));
    }

    // The fourth quick death in a row exceeds the limit of 3.
    init.wait_stderr("sidecar-init: pipelock failed: 4 quick deaths in a row; not restarting");
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(init.starts("pipelock").len(), 4, "no restart once failed");
    assert_eq!(count_lines(&init, "pipelock failed"), 1, "failed is logged once");
    assert!(init.running(), "egress still runs: the init does too");
    // The failed slot's last run counts.
    init.stop_expecting(1);
}

#[test]
fn a_run_of_10_s_resets_the_count_of_quick_deaths() {
    // Runs: quick, 10.5 s, quick. With limit 1 the count goes 1, 1 (the
    // long run resets it), 2: failed after the third run, not the second.
    let script = "n=$(cat \"$STANDIN_REPORT/runs\" 2>/dev/null || echo 0); echo $((n+1)) > \"$STANDIN_REPORT/runs\"; \
                  if [ \"$n\" = 1 ]; then sleep 10.5; fi; exit 1";
    let setup = Setup::new("long-run").all_standins().daemons("egress,pipelock").env(RESTART, "pipelock");
    let init = shell(setup.env(DELAY, "100").env(LIMIT, "1"), "pipelock", script).start();
    init.wait_stderr("sidecar-init: pipelock restarting in 100 ms (quick deaths in a row: 1)");
    let failed = wait_until(Duration::from_secs(20), POLL_EVERY, "pipelock to fail", || {
        init.stderr().lines().find(|l| l.contains("pipelock failed:")).map(str::to_string)
    });
    assert_eq!(failed, "sidecar-init: pipelock failed: 2 quick deaths in a row; not restarting");
    assert_eq!(count_lines(&init, "pipelock restarting in 100 ms (quick deaths in a row: 1)"), 2, "reset after 10 s");
    assert_eq!(count_lines(&init, "pipelock started"), 3, "three runs");
    init.stop_expecting(1);
}

#[test]
fn an_essential_slot_that_exits_3_takes_the_bundle_down_with_code_3() {
    let init = Setup::new("essential")
        .all_standins()
        .standin("git-gate", &["--exit", "3", "--after", "300"])
        .env(ESSENTIAL, "git-gate")
        .start();
    init.wait_started(&SLOTS);
    init.expect_exit(3);
    init.assert_stderr_has("sidecar-init: essential git-gate is down; shutting down; grace 8000 ms");
    init.assert_stderr_lacks("shutting down (SIGTERM)");
    init.assert_stderr_has("sidecar-init: exiting code=3");
    for slot in ["egress", "pipelock", "supervise"] {
        init.assert_report_has(slot, &format!("{slot} signal 15 SIGTERM"));
    }
}

#[test]
fn an_essential_slot_with_restart_fails_its_limit_then_takes_the_bundle_down() {
    let init = Setup::new("essential-restart")
        .all_standins()
        .daemons("egress,git-gate")
        .standin("git-gate", &["--exit", "3"])
        .env(ESSENTIAL, "git-gate")
        .env(RESTART, "git-gate,egress")
        .env(DELAY, "50")
        .env(LIMIT, "2")
        .start();
    init.expect_exit(3);
    assert_eq!(init.starts("git-gate").len(), 3, "two restarts within the limit of 2");
    init.assert_stderr_has("sidecar-init: git-gate failed: 3 quick deaths in a row; not restarting");
    init.assert_stderr_has("sidecar-init: essential git-gate is down; shutting down");
    // egress stopped by the shutdown: not restarted, and clean.
    assert_eq!(init.starts("egress").len(), 1);
    init.assert_report_has("egress", "egress signal 15 SIGTERM");
}

#[test]
fn kill_s_rtmin_k_restarts_exactly_slot_k() {
    let init = Setup::new("rtmin").all_standins().start();
    let first = init.wait_started(&SLOTS);
    for (k, slot) in (1..=4).zip(SLOTS) {
        let old = init.starts(slot).last().map(|s| s.pid).unwrap_or_default();
        // As an operator would: the shell's kill names RTMIN+k as Docker does (34 + k).
        let status = Command::new("bash")
            .args(["-c", &format!("kill -s RTMIN+{k} {}", init.pid())])
            .status()
            .unwrap_or_else(|e| panic!("bash: {e}"));
        assert!(status.success(), "kill -s RTMIN+{k}");
        let runs = init.wait_starts(slot, 2);
        init.wait_stderr(&format!("sidecar-init: {slot} started pid={}", runs[1].pid));
        init.assert_stderr_has(&format!("sidecar-init: restarting {slot} pid={old} (SIGRTMIN+{k})"));
        init.assert_report_has(slot, &format!("{slot} signal 15 SIGTERM"));
        for (at, other) in SLOTS.iter().enumerate() {
            let expected = if at < k { 2 } else { 1 };
            assert_eq!(init.starts(other).len(), expected, "after RTMIN+{k}: runs of {other}");
        }
    }
    // The first runs' pids are all gone, and no slot heard another's signal.
    for (slot, start) in SLOTS.iter().zip(&first) {
        assert_eq!(count_lines(&init, &format!("pid={} (SIGRTMIN+", start.pid)), 1, "{slot} restarted once");
    }
    init.stop_expecting(0);
}

#[test]
fn a_lone_daemon_waiting_for_its_restart_keeps_the_init_running_and_idle_after() {
    // pipelock, the only slot, crashes once: with a restart waiting the init
    // must not exit (every daemon is dead, but pipelock is not down for
    // good). Once it is back, nothing is pending: no wake-ups at all.
    let standin = standin_bin();
    let later = format!("exec {} pipelock", standin.display());
    let setup = Setup::new("lone-waiting")
        .daemons("pipelock")
        .env(RESTART, "egress,pipelock,git-gate,supervise")
        .env(ESSENTIAL, "pipelock")
        .env(DELAY, "400");
    let init = shell(setup, "pipelock", &by_run("exit 1", &later)).start();
    init.wait_stderr("sidecar-init: pipelock restarting in 400 ms (quick deaths in a row: 1)");
    thread::sleep(Duration::from_millis(200));
    assert!(init.running(), "the init exited while pipelock's restart was pending");
    init.wait_starts("pipelock", 1);
    init.wait_for("pipelock's second run", |init| (count_lines(init, "pipelock started") == 2).then_some(()));

    let (switches, cpu_ns) = init.idle_second();
    init.stop_expecting(0);
    assert_eq!(switches, [0, 0], "context switches of the idle init over one second");
    assert_eq!(cpu_ns, 0, "CPU time of the idle init over one second");
}

#[test]
fn a_shutdown_drops_a_waiting_restart() {
    let init = Setup::new("drop-waiting")
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--exit", "5"])
        .env(RESTART, "pipelock")
        .env(DELAY, "60000")
        .start();
    init.wait_stderr("sidecar-init: pipelock restarting in 60000 ms (quick deaths in a row: 1)");
    let stop_started = Instant::now();
    let exit = init.stop();
    assert_eq!(exit.code(), Some(5), "the dead run was not replaced: its 5 counts");
    assert!(exit.at - stop_started < Duration::from_secs(5), "the stop did not wait for the restart");
    init.assert_stderr_has("sidecar-init: pending pipelock restart dropped: shutting down");
    assert_eq!(init.starts("pipelock").len(), 1);
}

#[test]
fn sigusr1_starts_a_waiting_pipelock_at_once() {
    let init = Setup::new("usr1-waiting")
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--exit", "5"])
        .env(RESTART, "pipelock")
        .env(DELAY, "60000")
        .start();
    init.wait_stderr("sidecar-init: pipelock restarting in 60000 ms");
    init.signal(SIGUSR1);
    init.wait_stderr("sidecar-init: restarting pipelock, which was down, (SIGUSR1)");
    init.wait_starts("pipelock", 2);
    // c was reset: the next quick death waits the base delay again.
    init.wait_for("the second restart note", |init| {
        (count_lines(init, "pipelock restarting in 60000 ms (quick deaths in a row: 1)") == 2).then_some(())
    });
    init.stop_expecting(5);
}
