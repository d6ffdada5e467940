//! Hostile conditions (issue 8): stalled and slow readers of the init's
//! output, daemons that turn their stdio non-blocking or lower PID 1's
//! descriptor limit, a low limit from the start, an init that is not root,
//! odd PATHs and fault signals sent with kill(). Each test failed on the
//! init of commit 32670e4 (see tests/README.md).
//!
//! The real binary as PID 1 of a new PID namespace (or as a plain child)
//! with stand-in daemons: see tests/README.md. Run with `make integration`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::thread;
use std::time::{Duration, Instant};

use support::*;

// ---------------------------------------------------------------- wording
//
// The init's notes these tests expect, matched loosely and in one place so
// the implementation can choose its words. Each returns the matching line.

/// The note that the init's stdout could not get a non-blocking description
/// of its own (the /proc/self/fd reopen failed) and is written another way.
/// Accepts any `sidecar-init: ` line that mentions `stdout` and either
/// `blocking` or `cannot reopen`, e.g.
/// `sidecar-init: cannot reopen stdout non-blocking (Permission denied); writing only what poll allows`.
fn stdout_fallback_note(stderr: &str) -> Option<String> {
    init_lines(stderr)
        .find(|l| l.contains("stdout") && (l.contains("blocking") || l.contains("cannot reopen")))
        .map(str::to_string)
}

/// The note that `poll` failed and the init degraded. Accepts any
/// `sidecar-init: ` line that mentions `poll` and one of `fail`, `degrad`,
/// `cannot`, `error`, e.g.
/// `sidecar-init: poll failed: Invalid argument (errno 22); polling signals only`.
fn poll_degraded_note(stderr: &str) -> Option<String> {
    init_lines(stderr)
        .find(|l| l.contains("poll") && ["fail", "degrad", "cannot", "error"].iter().any(|w| l.contains(w)))
        .map(str::to_string)
}

/// The note that `slot`'s output goes out without its prefix. Accepts any
/// `sidecar-init: ` line that names the slot and contains `unprefixed`, e.g.
/// `sidecar-init: git-gate output goes out unprefixed: no log pipe (Too many open files)`.
fn unprefixed_note(stderr: &str, slot: &str) -> Option<String> {
    init_lines(stderr).find(|l| l.contains(slot) && l.contains("unprefixed")).map(str::to_string)
}

/// The notes that name a signal the init took (`sidecar-init: ignoring SIGSEGV`,
/// or any other `sidecar-init: ` line with the name).
fn notes_naming<'a>(stderr: &'a str, signal_name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    init_lines(stderr).filter(move |l| l.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == signal_name))
}

fn init_lines(stderr: &str) -> impl Iterator<Item = &str> {
    stderr.lines().filter(|l| l.starts_with("sidecar-init: "))
}

// ---------------------------------------------------------------- helpers

/// Waits up to `patience` for the init to exit; None if it is still running.
fn exit_within(init: &Init, patience: Duration) -> Option<Exit> {
    let deadline = Instant::now() + patience;
    loop {
        if !init.running() {
            return init.exit_status().map(|status| Exit { status, at: Instant::now() });
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL_EVERY);
    }
}

/// Polls `probe` for up to `patience`; None if it never gave a value.
fn within<T>(patience: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL_EVERY);
    }
}

const O_NONBLOCK: u32 = 0o4000;

/// The octal number after `key=` in a report line (`stdio-flags fd1=4001`).
fn octal_field(line: &str, key: &str) -> u32 {
    let value = line.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='));
    value.and_then(|v| u32::from_str_radix(v, 8).ok()).unwrap_or_else(|| panic!("no octal {key}= in {line:?}"))
}

// ---------------------------------------------------------------- 1: one stop, one grace

/// Issue 8, fault 1. A stalled log reader (an attached client that reads
/// nothing) and a daemon that ignores SIGTERM: the stop takes the grace for
/// the SIGKILL, and then at most one more second, not a second grace for
/// the output (SPEC, Exit: "Whatever the readers of its output do, the init
/// exits at most one second after that deadline").
#[test]
fn a_stalled_reader_and_a_daemon_ignoring_sigterm_make_one_grace_plus_one_second() {
    const GRACE: Duration = Duration::from_millis(3000);
    let init = Setup::new("one-grace")
        .daemons("egress,pipelock")
        .standin("egress", &["--flood", "1000000", "--max-len", "100"])
        .standin("pipelock", &["--ignore-term"])
        .grace_ms(GRACE.as_millis() as u64)
        .stall_stdout()
        .start();
    init.wait_started(&["egress", "pipelock"]);
    // The flood fills the init's stdout pipe, its backlog and egress's pipe.
    thread::sleep(Duration::from_millis(500));
    init.assert_report_lacks("egress", "flood done");
    let asked = Instant::now();
    init.signal(SIGTERM);
    // Not `wait_exit`: nobody reads stdout, so it does not close.
    let exit = exit_within(&init, Duration::from_secs(10));
    let took = asked.elapsed();
    init.unstall_stdout();
    let exit = exit.unwrap_or_else(|| panic!("the init still runs {took:?} after SIGTERM (grace {GRACE:?})"));
    assert!(
        took >= GRACE - Duration::from_millis(300),
        "pipelock ignores SIGTERM: the stop lasts the grace, not {took:?}"
    );
    assert!(
        took < GRACE + Duration::from_secs(2),
        "the stop took {took:?} with a stalled reader: more than the grace ({GRACE:?}) plus 1 s (plus 1 s of slack)"
    );
    assert_eq!(exit.code(), Some(0), "exit code");
}

// ---------------------------------------------------------------- 2: blocking stdio for every run

/// Issue 8, fault 2. A daemon that sets O_NONBLOCK on its stdout and stderr
/// (Node, libuv) and is restarted: the next run starts with blocking stdio,
/// as a fresh pipe would give it (SPEC, Daemons; a python3 run would die of
/// BlockingIOError under a slow reader).
#[test]
fn a_restarted_daemon_does_not_inherit_o_nonblock_from_its_previous_run() {
    let init = Setup::new("nonblock").daemons("pipelock").standin("pipelock", &["--nonblock-stdio"]).start();
    let first = init.wait_starts("pipelock", 1).remove(0);
    init.wait_report("pipelock", "stdio nonblocking");
    let came_with = init.wait_report("pipelock", "stdio-flags");
    for key in ["fd1", "fd2"] {
        assert_eq!(octal_field(&came_with, key) & O_NONBLOCK, 0, "the first run's {key} starts blocking");
    }
    // The premise: the first run's descriptors really are non-blocking now.
    let host_pid = init.children().into_iter().find(|&kid| inner_pid(kid) == Some(first.pid));
    let host_pid = host_pid.unwrap_or_else(|| panic!("pipelock (pid {} inside) is not a child of the init", first.pid));
    for fd in [1, 2] {
        let flags = fd_flags(host_pid, fd);
        assert_ne!(flags & O_NONBLOCK, 0, "the first run set O_NONBLOCK on its fd {fd} (flags {flags:o})");
    }

    init.signal(SIGUSR1);
    let second = init.wait_starts("pipelock", 2).remove(1);
    let lines: Vec<String> = init.wait_for("the second run's stdio-flags line", |init| {
        let lines: Vec<String> =
            init.report("pipelock").lines().filter(|l| l.contains("stdio-flags")).map(str::to_string).collect();
        (lines.len() >= 2).then_some(lines)
    });
    // What the second run's descriptors were when it started, before it set anything.
    for key in ["fd1", "fd2"] {
        let flags = octal_field(&lines[1], key);
        assert_eq!(
            flags & O_NONBLOCK,
            0,
            "the second run (pid {}) got its {key} with O_NONBLOCK: {flags:o}",
            second.pid
        );
    }
    init.stop_expecting(0);
}

// ---------------------------------------------------------------- 3: no blocking write when the reopen fails

/// Issue 8, fault 3. A non-root init whose stdout is a pipe made by root
/// cannot reopen it through /proc/self/fd (EACCES). With a stalled reader
/// and a flooding daemon it must still act on SIGTERM and exit within the
/// grace plus one second, and say once that stdout is written another way.
#[test]
fn a_non_root_init_that_cannot_reopen_stdout_still_stops_with_a_stalled_reader() {
    const GRACE: Duration = Duration::from_millis(1000);
    let setup = Setup::new("no-reopen")
        .wrap(&["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        .daemons("egress")
        .standin("egress", &["--flood", "1000000", "--max-len", "100"])
        .grace_ms(GRACE.as_millis() as u64)
        .stall_stdout();
    // The standins run as 65534 too and write their reports here.
    std::fs::set_permissions(setup.scratch_path(), std::fs::Permissions::from_mode(0o777))
        .unwrap_or_else(|e| panic!("chmod the scratch directory: {e}"));
    let init = setup.start();
    init.wait_started(&["egress"]);
    assert_eq!(proc_status_field(init.pid(), "Uid").as_deref(), Some("65534\t65534\t65534\t65534"), "the init's uids");
    thread::sleep(Duration::from_millis(500));
    init.assert_report_lacks("egress", "flood done");

    let asked = Instant::now();
    init.signal(SIGTERM);
    let exit = exit_within(&init, Duration::from_secs(8));
    let took = asked.elapsed();
    let stderr = init.stderr();
    init.unstall_stdout();
    let exit = exit.unwrap_or_else(|| {
        panic!("the init still runs {took:?} after SIGTERM: frozen in a write to a stalled stdout (grace {GRACE:?})")
    });
    assert!(
        took < GRACE + Duration::from_millis(2500),
        "the stop took {took:?}: more than the grace ({GRACE:?}) plus 1 s (plus 1.5 s of slack)"
    );
    assert_eq!(exit.code(), Some(0), "exit code");
    // WORDING (see `stdout_fallback_note`): the fallback is said, once.
    assert!(
        stdout_fallback_note(&stderr).is_some(),
        "no `sidecar-init: ` line says stdout could not be reopened non-blocking (needs `stdout` and `blocking` or `cannot reopen`)"
    );
    let said = init_lines(&stderr).filter(|l| stdout_fallback_note(l).is_some()).count();
    assert_eq!(said, 1, "the stdout fallback is said once");
}

// ---------------------------------------------------------------- 4: a dead run's last line

/// Issue 8, fault 4 (withheld). A daemon's unterminated last line has been
/// read by the init when the daemon dies, and the init's stdout is backed up
/// (a stalled reader, another daemon's flood): once the reader takes the
/// backlog, the last line comes out on its own while the init runs on, not
/// only at its exit.
#[test]
fn a_dead_daemons_unterminated_line_comes_out_once_the_backlog_drains() {
    let init = Setup::new("tail-drains")
        .daemons("egress,pipelock")
        // egress writes its unterminated line at once; pipelock floods later.
        .standin("egress", &["--no-newline", "OLDTAIL"])
        // More than the init buffers for a stalled reader (its backlog, about
        // 1.1 MiB since issue 15, and the two pipes): the flood must block.
        .standin("pipelock", &["--delay", "500", "--flood", "50000", "--max-len", "100"])
        .stall_stdout()
        .start();
    let egress = init.wait_started(&["egress", "pipelock"]).remove(0);
    // The premise: pipelock's flood is blocked, so the init's stdout is backed up.
    thread::sleep(Duration::from_millis(1000));
    init.assert_report_lacks("pipelock", "flood done");
    let host_pid = init.children().into_iter().find(|&kid| inner_pid(kid) == Some(egress.pid));
    send(host_pid.unwrap_or_else(|| panic!("egress (pid {} inside) is not a child of the init", egress.pid)), SIGKILL);
    init.wait_stderr(&format!("sidecar-init: egress exited pid={} signal=SIGKILL", egress.pid));

    init.unstall_stdout();
    init.wait_report("pipelock", "flood done");
    let stdout = within(Duration::from_secs(5), || {
        let stdout = init.stdout();
        (stdout.contains("OLDTAIL") && stdout.contains("[pipelock] pipelock flood done")).then_some(stdout)
    });
    let running = init.running();
    let stdout =
        stdout.unwrap_or_else(|| panic!("egress's last line was not out 5 s after the backlog began to drain"));
    assert!(running, "the init was still running when the last line came out");
    let lines: Vec<&str> = stdout.lines().collect();
    let tail = lines.iter().position(|l| l.contains("OLDTAIL")).expect("found above");
    assert_eq!(lines[tail], "[egress] OLDTAIL", "the last line on its own, prefixed");
    // egress's own death by SIGKILL counts: 137.
    init.stop_expecting(137);
}

/// Issue 8, fault 4 (fused). A daemon dies with an unterminated last line
/// while the init's stdout is backed up, and is restarted (SIGUSR1) before
/// the backlog drains: its last line still comes out on its own, before
/// any line of the next run — not as `[pipelock] OLDTAILpipelock start ...`.
#[test]
fn a_dead_daemons_unterminated_line_is_not_fused_with_the_next_runs_first_line() {
    let init = Setup::new("tail-fused")
        .daemons("egress,pipelock")
        // More than the init buffers for a stalled reader: the flood must block.
        .standin("egress", &["--flood", "50000", "--max-len", "100"])
        .standin("pipelock", &["--after", "500", "--no-newline", "OLDTAIL", "--exit", "0"])
        .stall_stdout()
        .start();
    let first = init.wait_starts("pipelock", 1).remove(0);
    init.wait_stderr(&format!("sidecar-init: pipelock exited pid={}", first.pid));
    // The premise: egress is still blocked, so the init's stdout is backed up.
    init.assert_report_lacks("egress", "flood done");

    init.signal(SIGUSR1);
    let second = init.wait_starts("pipelock", 2).remove(1);
    // Its start line is in the pipe (the report file is written first).
    thread::sleep(Duration::from_millis(200));
    init.unstall_stdout();
    let needle = format!("pipelock start pid={}", second.pid);
    let stdout = init.wait_for("the second run's start line on stdout", |init| {
        let stdout = init.stdout();
        stdout.contains(&needle).then_some(stdout)
    });
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines.iter().position(|l| l.contains(&needle)).expect("found above");
    assert!(
        lines[start].starts_with(&format!("[pipelock] {needle}")),
        "the second run's start line is fused with something: {:?}",
        lines[start]
    );
    let tail = lines.iter().position(|l| l.contains("OLDTAIL"));
    assert_eq!(tail.map(|at| lines[at]), Some("[pipelock] OLDTAIL"), "the first run's last line, on its own");
    assert!(tail < Some(start), "the first run's last line comes before the second run's first line");
    init.stop_expecting(0);
}

// ---------------------------------------------------------------- 5: a lowered RLIMIT_NOFILE

/// Issue 8, fault 5. A daemon lowers PID 1's RLIMIT_NOFILE below the number
/// of descriptors it polls (`prlimit --pid 1 --nofile=6:6`; here the test
/// does it): poll fails with EINVAL. The init must not spin, must log it,
/// and signals and reaping must still work.
#[test]
fn a_lowered_nofile_limit_does_not_make_the_init_spin() {
    let init = Setup::new("nofile-lowered").all_standins().start();
    init.wait_started(&SLOTS);
    // Nine entries to poll (the signalfd and eight log pipes), six allowed.
    set_nofile(init.pid(), 6);
    // Wake it up once, so it polls again under the new limit.
    init.signal(SIGUSR2);
    thread::sleep(Duration::from_millis(300));
    let before = cpu_ns(init.pid());
    let since = Instant::now();
    thread::sleep(Duration::from_millis(1000));
    let spent = cpu_ns(init.pid()).saturating_sub(before);
    let over = since.elapsed();
    assert!(
        spent < 50_000_000,
        "the init used {} ms of CPU in {over:?} after its NOFILE limit fell to 6",
        spent / 1_000_000
    );

    // Signals and reaping still work: a restart, then a stop.
    init.signal(SIGUSR1);
    let runs = init.wait_starts("pipelock", 2);
    init.wait_stderr(&format!("sidecar-init: pipelock started pid={}", runs[1].pid));
    // WORDING (see `poll_degraded_note`): the failure is logged.
    let note = init.wait_for("a note that poll failed", |init| poll_degraded_note(&init.stderr()));
    let exit = init.stop();
    assert_eq!(exit.code(), Some(0), "exit code after SIGTERM");
    let stderr = init.stderr();
    let said = init_lines(&stderr).filter(|l| poll_degraded_note(l).is_some()).count();
    assert_eq!(said, 1, "poll's failure is logged once ({note:?})");
}

// ---------------------------------------------------------------- 6: a low RLIMIT_NOFILE from the start

/// Issue 8, fault 6 (`docker run --ulimit nofile=16:16`). With too few
/// descriptors for every slot's log pipes, no slot's output silently loses
/// its `[slot]` prefix: every daemon line is prefixed, or the init says
/// which slot's output goes out unprefixed (and why).
#[test]
fn a_low_nofile_limit_never_drops_a_slots_prefix_silently() {
    for limit in [12, 14, 16, 20] {
        let nofile = format!("--nofile={limit}:{limit}");
        let init = Setup::new(&format!("nofile-{limit}")).all_standins().wrap(&["prlimit", &nofile]).start();
        init.wait_started(&SLOTS);
        for slot in SLOTS {
            let needle = format!("{slot} start pid=");
            let line = init.wait_for(&format!("{slot}'s start line on stdout (nofile {limit})"), |init| {
                init.stdout().lines().find(|l| l.contains(&needle)).map(str::to_string)
            });
            if line.starts_with(&format!("[{slot}] ")) {
                continue;
            }
            // WORDING (see `unprefixed_note`).
            assert!(
                unprefixed_note(&init.stderr(), slot).is_some(),
                "with nofile {limit}, {slot}'s output lost its prefix ({line:?}) and no `sidecar-init: ` line names {slot} with `unprefixed`"
            );
        }
        init.stop_expecting(0);
    }
}

// ---------------------------------------------------------------- 8: PATH lookup as execvp

/// Issue 8, fault 8. A PATH lookup follows execvp: a directory and a
/// non-executable file named like the program are skipped, and the first
/// executable regular file runs.
#[test]
fn the_path_lookup_skips_a_directory_and_a_non_executable_file() {
    let setup = Setup::new("path-execvp");
    let root = setup.scratch_path().to_path_buf();
    let (dir_first, file_second, exe_third) = (root.join("a"), root.join("c"), root.join("b"));
    for dir in [&dir_first, &file_second, &exe_third] {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    const PROG: &str = "sidecar-init-test-prog";
    std::fs::create_dir(dir_first.join(PROG)).unwrap_or_else(|e| panic!("mkdir a/{PROG}: {e}"));
    std::fs::write(file_second.join(PROG), "#!/bin/sh\nexit 0\n").unwrap_or_else(|e| panic!("write c/{PROG}: {e}"));
    std::os::unix::fs::symlink(standin_bin(), exe_third.join(PROG)).unwrap_or_else(|e| panic!("symlink: {e}"));
    let path = format!("{}:{}:{}:/usr/bin:/bin", dir_first.display(), file_second.display(), exe_third.display());
    let init = setup.daemons("git-gate").env("PATH", &path).command("git-gate", &format!("{PROG} git-gate")).start();
    // git-gate is the only slot: if it cannot start, the init exits at once.
    let ran = init.wait_for("git-gate to start, or the init to exit", |init| {
        if !init.starts("git-gate").is_empty() {
            Some(true)
        } else {
            (!init.running()).then_some(false)
        }
    });
    assert!(ran, "b/{PROG} did not run; the init exited with {:?}", init.exit_status().map(|s| describe(&s)));
    init.wait_started(&["git-gate"]);
    init.stop_expecting(0);
}

/// Issue 8, fault 8. The empty program word (`''`) is not found (127), as
/// `sh` and execvp say, not "cannot execute" (126).
#[test]
fn the_empty_program_word_is_not_found_127() {
    let (init, exit) = run_to_exit(Setup::new("empty-program").daemons("supervise").command("supervise", "''"));
    assert_eq!(exit.code(), Some(127), "exit code of an init whose only daemon is ''");
    init.assert_stderr_has("code=127");
}

// ---------------------------------------------------------------- sent fault signals

/// Issue 8, "Also". Not PID 1 (as under `docker run --init`), a fault
/// signal *sent* with kill() (si_code <= 0) is not a fault of the init's:
/// it is logged once and ignored like any other signal; the daemons keep
/// running and a later SIGTERM stops the init with code 0. (A real fault
/// still kills it; not tested here.)
#[test]
fn sent_fault_signals_are_logged_once_and_ignored_when_not_pid1() {
    const FAULTS: [(i32, &str); 7] =
        [(11, "SIGSEGV"), (7, "SIGBUS"), (4, "SIGILL"), (8, "SIGFPE"), (6, "SIGABRT"), (5, "SIGTRAP"), (31, "SIGSYS")];
    let init = Setup::new("sent-faults")
        .not_pid1()
        // No core file from an init that dies of one (the old init did).
        .wrap(&["prlimit", "--core=0"])
        .all_standins()
        .daemons("egress,pipelock")
        .start();
    let starts = init.wait_started(&["egress", "pipelock"]);
    // An init that dies leaves its daemons behind: they go when the test ends.
    let _daemons: Vec<KillOnDrop> = starts.iter().map(|s| KillOnDrop::Pid(s.pid)).collect();

    for (sig, name) in FAULTS {
        init.signal(sig);
        let logged = within(Duration::from_secs(3), || {
            if !init.running() {
                panic!("the init died of a sent {name}: {:?}", init.exit_status().map(|s| describe(&s)));
            }
            notes_naming(&init.stderr(), name).next().map(str::to_string)
        });
        logged.unwrap_or_else(|| panic!("no `sidecar-init: ` line names the sent {name} (3 s)"));
        // Once per signal number: a second one is not logged again.
        init.signal(sig);
        thread::sleep(Duration::from_millis(100));
        assert!(init.running(), "the init died of a second sent {name}");
        assert_eq!(notes_naming(&init.stderr(), name).count(), 1, "{name} logged once");
    }
    for start in &starts {
        assert!(alive(start.pid), "daemon pid {} keeps running", start.pid);
    }
    assert_eq!(started(&init.stderr()).len(), 2, "no daemon was restarted");
    init.stop_expecting(0);
}
