//! Regressions: bugs found after the design, each test written to fail on
//! the init that had it. Hostile readers of the init's output (stalled, gone,
//! slow, one pipe for both streams) must not stall, spin or cut lines (SPEC:
//! Logs; the bounded stop of Exit; no wake-ups of Signals), and a flood of
//! signals must not hide a daemon's death (SPEC: the SIGCHLD row).
//!
//! The real binary as PID 1 of a new PID namespace (or as a plain child)
//! with stand-in daemons: see tests/README.md. Run with `make integration`.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::*;

/// A log reader that takes nothing (a slow log driver, a paused terminal)
/// must not hold up the stop: the init's writes never block its wait point.
#[test]
fn a_stalled_stdout_reader_does_not_hold_up_the_stop() {
    let init = Setup::new("stalled")
        .daemons("egress")
        .standin("egress", &["--flood", "20000", "--max-len", "100"])
        .grace_ms(500)
        .stall_stdout()
        .start();
    init.wait_stderr("egress started");
    // The flood fills the init's stdout pipe and then egress's own pipe.
    thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    init.signal(SIGTERM);
    init.wait_stderr("shutting down (SIGTERM)");
    // Not `wait_exit`: nobody reads stdout, so it does not close.
    let exit = init.wait_exit_within(Duration::from_secs(8));
    let took = asked.elapsed();
    init.unstall_stdout();
    assert!(took < Duration::from_secs(4), "stop took {took:?} with a stalled stdout reader");
    assert_eq!(exit.code(), Some(0), "exit code");
}

/// With its stdout reader gone (`| head` exited), the pipe reports POLLERR
/// for ever; the init must still sleep, not spin.
#[test]
fn a_gone_stdout_reader_does_not_make_the_init_spin() {
    let init = Setup::new("gone").daemons("egress").standin("egress", &["--flood", "2000"]).close_stdout().start();
    init.wait_report("egress", "egress flood done");
    thread::sleep(Duration::from_millis(200));
    let before = cpu_ns(init.pid());
    thread::sleep(Duration::from_millis(500));
    let spent = cpu_ns(init.pid()).saturating_sub(before);
    init.stop_expecting(0);
    assert!(spent < 20_000_000, "the init used {spent} ns of CPU in 500 ms with no stdout reader");
}

/// A daemon that dies while the init's output is backed up (a slow reader)
/// still has every line delivered whole: its unfinished last line is not
/// sent before the rest of it has been read from the pipe.
#[test]
fn a_slow_reader_gets_every_line_whole_across_a_daemons_death() {
    let init = Setup::new("slowread")
        .daemons("egress")
        .standin("egress", &["--flood", "20000", "--max-len", "120", "--chunk", "997", "--exit", "0"])
        .slow_stdout()
        .start();
    init.expect_exit(0);
    let stdout = init.stdout();
    let mut next = 0u64;
    for line in stdout.lines().filter(|l| l.starts_with("[egress] egress:")) {
        let k = check_flood_line("egress", "", line.trim_start_matches("[egress] "))
            .unwrap_or_else(|why| panic!("line {next}: {why}: {line:?}"));
        assert_eq!(k, next, "flood lines in order");
        next += 1;
    }
    assert_eq!(next, 20000, "flood lines received whole");
}

/// With stdout and stderr on one pipe (`2>&1 | reader`) and a slow reader,
/// a line cut by a partial write is finished before any other line starts.
#[test]
fn one_pipe_for_stdout_and_stderr_keeps_every_line_whole() {
    let init = Setup::new("merged")
        .daemons("egress")
        .standin("egress", &["--flood", "8000", "--flood-stderr", "8000", "--max-len", "120", "--exit", "0"])
        .merged_output()
        .start();
    init.expect_exit(0);
    let text = init.stdout();
    let (mut out, mut err) = (0u64, 0u64);
    for line in text.lines() {
        if line.starts_with("sidecar-init: ") || line.starts_with("[egress] egress ") {
            continue;
        }
        let body = line.strip_prefix("[egress] ").unwrap_or_else(|| panic!("unprefixed line {line:?}"));
        if body.starts_with("egress:err:") {
            assert_eq!(flood_line_k("egress", "err:", body), err, "stderr order");
            err += 1;
        } else {
            assert_eq!(flood_line_k("egress", "", body), out, "stdout order");
            out += 1;
        }
    }
    assert_eq!((out, err), (8000, 8000), "whole lines on the shared pipe");
}

/// A flood of real-time signals must not push out the SIGCHLD of a
/// daemon's death: the death is logged and the init exits.
#[test]
fn a_signal_flood_loses_no_child_exit() {
    let init = Setup::new("sigflood")
        .not_pid1()
        .daemons("egress")
        .standin("egress", &["--exit", "0", "--after", "300"])
        .start();
    init.wait_stderr("egress started");
    let target = init.pid();
    let flood_until = Instant::now() + Duration::from_millis(1200);
    // Scoped: the flooders are joined before the test goes on, or fails.
    thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while Instant::now() < flood_until {
                    // SAFETY: plain kill of the init under test.
                    unsafe { libc::kill(target, 40) };
                }
            });
        }
        init.wait_stderr("egress exited");
    });
    init.expect_exit(0);
    assert!(init.zombie_children().is_empty(), "zombies left");
}

/// Once every daemon has died and its output is written, the init exits at
/// once: its patience with the readers is for output they have not taken,
/// not a wait for the output deadline. (The first routing rewrite waited
/// for the deadline whenever the pipes had just been read empty.)
#[test]
fn an_exit_with_all_output_taken_does_not_wait_for_the_output_deadline() {
    let init = Setup::new("prompt-exit")
        .daemons("egress")
        .standin("egress", &["--flood", "2000", "--max-len", "120", "--exit", "0"])
        .grace_ms(5000)
        .not_pid1()
        .slow_stdout()
        .start();
    let started = Instant::now();
    let exit = init.wait_exit_within(Duration::from_secs(8));
    assert_eq!(exit.code(), Some(0));
    let took = exit.at.duration_since(started);
    assert!(took < Duration::from_secs(3), "the exit took {took:?}; the output deadline is grace + 1 s = 6 s");
    let flood_lines = |init: &Init| init.stdout().lines().filter(|l| l.starts_with("[egress] egress:")).count();
    init.wait_for("every flood line read", |init| (flood_lines(init) == 2000).then_some(()));
}
