//! Spawning never freezes PID 1 (issue #15), and a child between its spawn
//! and its exec (`starting`) is stopped, restarted and reported right (SPEC:
//! Daemons, Restart; issue #14: a failed start is "cannot start", however
//! the clone behaves — see also startup.rs's 127/126 and privilege.rs's
//! failed switch, which now come through the spawn report).
//!
//! A child that cannot get a CPU: the init runs pinned to CPU 0 under
//! SCHED_FIFO 2 with reset-on-fork, so its children are SCHED_OTHER on CPU 0,
//! where a SCHED_FIFO 1 busy loop (the hog) leaves them only the kernel's RT
//! throttling window (50 ms a second); the init, above the hog, runs at once.
//! This test process keeps off CPU 0 so that it reads the init's lines in
//! time. Needs two CPUs and RT scheduling (root). Run with `make integration`.

mod support;

use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::*;

/// The init and its children on CPU 0, the init above the hog.
const PINNED_RT: [&str; 7] = ["taskset", "-c", "0", "chrt", "--reset-on-fork", "-f", "2"];

/// A SCHED_FIFO 1 busy loop on CPU 0 while it lives.
struct Hog(Child);

impl Hog {
    fn start() -> Hog {
        keep_off_cpu0();
        let child = Command::new("taskset")
            .args(["-c", "0", "chrt", "-f", "1", "sh", "-c", "while :; do :; done"])
            .stdin(Stdio::null())
            .spawn()
            .expect("start the hog (taskset, chrt)");
        // Let it take the CPU.
        thread::sleep(Duration::from_millis(30));
        Hog(child)
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Moves every thread of this test process off CPU 0 (the init's output
/// readers included), so the hog cannot delay what the test observes.
fn keep_off_cpu0() {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET stays within it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for cpu in 1..num_cpus() {
        // SAFETY: as above.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        if let Ok(tid) = task.file_name().to_string_lossy().parse::<i32>() {
            // SAFETY: a valid set of the right size; a thread that is gone only fails.
            unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
        }
    }
}

/// CPUs of the machine (not this process's affinity, which `keep_off_cpu0`
/// narrows, and which musl's sysconf counts).
fn num_cpus() -> usize {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo.lines().filter(|line| line.starts_with("processor")).count()
}

/// One hog at a time: the tests of this file take turns.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether the machine can run these tests: two CPUs and SCHED_FIFO.
fn can_starve_children() -> bool {
    let rt = Command::new("chrt").args(["-f", "1", "true"]).status().is_ok_and(|s| s.success());
    if num_cpus() < 2 || !rt {
        eprintln!("skipped: needs two CPUs and SCHED_FIFO (chrt)");
        return false;
    }
    true
}

/// An init whose pipelock exits 0 at once (down, not restarted) beside an
/// idle egress, pinned and real-time as above.
fn init_with_a_pipelock_that_exits(test: &str) -> Init {
    let init = Setup::new(test)
        .daemons("egress,pipelock")
        .standin("egress", &[])
        .standin("pipelock", &["--exit", "0"])
        .grace_ms(5000)
        .wrap(&PINNED_RT)
        .start();
    init.wait_started(&["egress"]);
    init.wait_stderr("sidecar-init: pipelock exited");
    init
}

/// Polls the init's stderr for `needle` for at most `patience`.
fn seen_within(init: &Init, needle: &str, patience: Duration) -> Option<Duration> {
    let since = Instant::now();
    while since.elapsed() < patience {
        if init.stderr().contains(needle) {
            return Some(since.elapsed());
        }
        thread::sleep(Duration::from_millis(2));
    }
    None
}

/// Issue #15: with `CLONE_VFORK` PID 1 sat blocked until the new child got a
/// CPU and exec'd. Now a signal that comes while the child waits for a CPU is
/// answered at once (fails on the vfork spawn: the note waits for the exec).
#[test]
fn pid1_answers_signals_while_a_spawned_child_waits_for_a_cpu() {
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !can_starve_children() {
        return;
    }
    let init = init_with_a_pipelock_that_exits("spawn-not-frozen");
    // RTMIN+6..+8: each logged once, as ignored.
    for (round, sig) in [40, 41, 42].into_iter().enumerate() {
        let hog = Hog::start();
        init.signal(SIGUSR1);
        thread::sleep(Duration::from_millis(20));
        init.signal(sig);
        let name = format!("ignoring SIGRTMIN+{}", sig - 34);
        let answered = seen_within(&init, &name, Duration::from_millis(400));
        drop(hog);
        assert!(answered.is_some(), "round {round}: PID 1 did not answer {name} within 400 ms of a spawn");
        init.wait_for(&format!("pipelock's run {} to exit", round + 2), |init| {
            (init.stderr().matches("sidecar-init: pipelock exited").count() > round + 1).then_some(())
        });
    }
    init.stop_expecting(0);
}

/// SIGTERM reaches a child that has not exec'd yet (no group of its own
/// yet): it dies before or right after its exec, its death is clean, and the
/// stop needs no SIGKILL at the grace deadline.
#[test]
fn sigterm_while_a_daemon_is_starting_stops_it_cleanly() {
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !can_starve_children() {
        return;
    }
    let init = init_with_a_pipelock_that_exits("spawn-term-starting");
    let hog = Hog::start();
    init.signal(SIGUSR1);
    thread::sleep(Duration::from_millis(20));
    let asked = Instant::now();
    init.signal(SIGTERM);
    init.wait_stderr("sidecar-init: shutting down (SIGTERM)");
    drop(hog);
    let exit = init.wait_exit();
    assert_eq!(exit.code(), Some(0), "exit code after a stop while pipelock was starting");
    assert!(asked.elapsed() < Duration::from_millis(4000), "the stop waited for the grace: {:?}", asked.elapsed());
    init.assert_stderr_lacks("grace expired");
    let stderr = init.stderr();
    let second = stderr.lines().filter(|l| l.starts_with("sidecar-init: pipelock exited")).nth(1).map(str::to_string);
    let second = second.unwrap_or_else(|| panic!("no death of pipelock's second run"));
    assert!(second.contains("signal=SIGTERM") || second.contains("code=0"), "{second}");
}

/// A restart request while the slot's new run is starting makes no second
/// restart (SPEC: requests before the restart completes make one).
#[test]
fn sigusr1_while_pipelock_is_starting_coalesces() {
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !can_starve_children() {
        return;
    }
    let init = init_with_a_pipelock_that_exits("spawn-usr1-starting");
    let hog = Hog::start();
    init.signal(SIGUSR1);
    thread::sleep(Duration::from_millis(20));
    init.signal(SIGUSR1);
    let coalesced = seen_within(&init, "pipelock restart already pending (SIGUSR1)", Duration::from_millis(400));
    drop(hog);
    assert!(coalesced.is_some(), "the second SIGUSR1 was not coalesced while pipelock was starting");
    init.wait_starts("pipelock", 2);
    init.wait_for("pipelock's second run to exit", |init| {
        (init.stderr().matches("sidecar-init: pipelock exited").count() == 2).then_some(())
    });
    thread::sleep(Duration::from_millis(200));
    assert_eq!(init.starts("pipelock").len(), 2, "one restart for two requests");
    init.stop_expecting(0);
}
