//! Integration tests: the real sidecar-init binary, mostly as PID 1 of a new
//! PID namespace (`unshare --pid --fork --mount-proc`), with standin daemons
//! (standin/src/main.rs) that report what they see and receive.
//!
//! Run with `make integration` (builds the static binaries first). Each test
//! returns an [`Outcome`]: see tests/support/mod.rs for why nothing panics.

#[macro_use]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::*;

const NO_SIGNALS: &str = "0000000000000000";

// ------------------------------------------------------------ start-up

#[test]
fn all_four_start_in_slot_order_as_session_leaders() -> Outcome {
    let init = Setup::new("start-order")?.all_standins().start()?;
    let starts = init.wait_started(&SLOTS)?;

    let logged = started(&init.stderr());
    let names: Vec<&str> = logged.iter().map(|(slot, _)| slot.as_str()).collect();
    ensure_eq!(names, SLOTS.to_vec(), "`started` lines in slot order\n{}", init.context());
    for ((slot, logged_pid), start) in logged.iter().zip(&starts) {
        ensure_eq!(start.pid, *logged_pid, "{slot}'s own pid is the one the init logged");
        ensure_eq!(start.ppid, 1, "{slot}'s parent is the init (PID 1)");
        ensure_eq!(start.pgid, start.pid, "{slot} leads its process group");
        ensure_eq!(start.sid, start.pid, "{slot} leads its session");
    }
    // A fresh PID namespace hands out pids in creation order: the spawn order.
    let pids: Vec<i32> = starts.iter().map(|s| s.pid).collect();
    ensure!(pids.windows(2).all(|w| w[0] < w[1]), "standins started in slot order, pids {pids:?}");
    ensure!(init.running(), "the init keeps running\n{}", init.context());

    init.signal(SIGTERM)?;
    let exit = init.wait_exit()?;
    ensure_eq!(exit.code(), Some(0), "exit code after SIGTERM\n{}", init.context());
    for (slot, pid) in &logged {
        let line = format!("sidecar-init: {slot} exited pid={pid} signal=SIGTERM");
        ensure!(init.stderr().contains(&line), "{line:?} missing\n{}", init.context());
    }
    ensure!(init.stderr().contains("sidecar-init: exiting code=0"), "final line\n{}", init.context());
    Ok(())
}

#[test]
fn subset_selection_runs_exactly_the_named_slots_in_slot_order() -> Outcome {
    let init = Setup::new("subset")?.all_standins().daemons(" supervise , egress,egress").start()?;
    init.wait_started(&["egress", "supervise"])?;

    let names: Vec<String> = started(&init.stderr()).into_iter().map(|(slot, _)| slot).collect();
    ensure_eq!(names, vec!["egress", "supervise"], "started slots\n{}", init.context());
    init.signal(SIGTERM)?;
    let exit = init.wait_exit()?;
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    ensure_eq!(init.scratch.files(), vec!["egress.log", "supervise.log"], "which standins ran");
    ensure_eq!(init.starts("egress").len(), 1, "egress ran once (duplicates count once)");
    Ok(())
}

#[test]
fn daemons_get_empty_signal_mask_default_dispositions_and_only_fds_0_1_2() -> Outcome {
    for hostile in [false, true] {
        let mut setup = Setup::new("clean-inheritance")?.all_standins();
        if hostile {
            setup = setup.hostile_inheritance();
        }
        let init = setup.start()?;
        let starts = init.wait_started(&SLOTS)?;
        if hostile {
            // The oddities really were inherited: fd 7 is open in the init
            // (close-on-exec now), and unshare, the init's parent, shows the mask.
            ensure!(std::path::Path::new(&format!("/proc/{}/fd/7", init.host_pid)).exists(), "the init inherited fd 7");
            let stdin = std::fs::read_link(format!("/proc/{}/fd/0", init.host_pid)).ok();
            ensure_eq!(stdin, Some("/dev/null".into()), "the init put /dev/null on its closed fd 0");
            let unshare = init_parent(&init);
            let mask = |key: &str| proc_status_field(unshare, key).and_then(|hex| u64::from_str_radix(&hex, 16).ok());
            let (hup, pipe, usr2, alrm) = (1u64 << 0, 1u64 << 12, 1u64 << 11, 1u64 << 13);
            ensure_eq!(mask("SigIgn").map(|m| m & (hup | pipe)), Some(hup | pipe), "unshare ignores HUP and PIPE");
            ensure_eq!(mask("SigBlk").map(|m| m & (usr2 | alrm)), Some(usr2 | alrm), "unshare blocks USR2 and ALRM");
        }
        for (slot, start) in SLOTS.iter().zip(&starts) {
            ensure_eq!(start.sigblk, NO_SIGNALS, "{slot}'s blocked signals (hostile={hostile})");
            ensure_eq!(start.sigign, NO_SIGNALS, "{slot}'s ignored signals (hostile={hostile})");
            ensure_eq!(start.fds, "0,1,2", "{slot}'s open descriptors (hostile={hostile})");
        }
        init.signal(SIGTERM)?;
        ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code (hostile={hostile})\n{}", init.context());
    }
    Ok(())
}

/// The parent of the init as the host sees it (unshare in PID 1 mode).
fn init_parent(init: &Init) -> i32 {
    std::fs::read_to_string(format!("/proc/{}/stat", init.host_pid))
        .ok()
        .and_then(|stat| {
            let after = stat.get(stat.rfind(')')? + 1..)?.to_string();
            after.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[test]
fn daemons_get_the_inits_environment_unchanged() -> Outcome {
    let init = Setup::new("environment")?
        .all_standins()
        .daemons("git-gate")
        .env("ODD_VALUE", "a=b  c\"'$HOME")
        .env("EMPTY_VALUE", "")
        .start()?;
    init.wait_started(&["git-gate"])?;
    let environ = |pid: i32| -> Vec<Vec<u8>> {
        let mut vars: Vec<Vec<u8>> = std::fs::read(format!("/proc/{pid}/environ"))
            .unwrap_or_default()
            .split(|&b| b == 0)
            .filter(|v| !v.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        vars.sort();
        vars
    };
    let daemon = init.children().first().copied().unwrap_or(0);
    let (theirs, ours) = (environ(daemon), environ(init.host_pid));
    init.signal(SIGTERM)?;
    init.wait_exit()?;
    ensure!(ours.iter().any(|v| v == b"ODD_VALUE=a=b  c\"'$HOME"), "the init got the odd variable: {ours:?}");
    ensure_eq!(theirs, ours, "git-gate's environment is the init's");
    Ok(())
}

// ------------------------------------------------------------ signals

#[test]
fn sigusr1_restarts_pipelock_alone_and_the_container_keeps_running() -> Outcome {
    let init = Setup::new("usr1-restart")?.all_standins().start()?;
    let first = init.wait_started(&SLOTS)?;
    let old = first.get(1).map(|s| s.pid).unwrap_or(0);

    init.signal(SIGUSR1)?;
    let runs = init.wait_starts("pipelock", 2)?;
    init.wait_stderr(&format!("pipelock started pid={}", runs.get(1).map(|s| s.pid).unwrap_or(0)))?;
    let new = runs.get(1).cloned().ok_or("no second pipelock run")?;
    ensure!(new.pid != old, "pipelock has a new pid ({old} -> {})", new.pid);
    ensure_eq!(
        (new.ppid, new.pgid, new.sid),
        (1, new.pid, new.pid),
        "the new pipelock is a session leader under PID 1"
    );

    let stderr = init.stderr();
    for line in [
        format!("sidecar-init: restarting pipelock pid={old} (SIGUSR1)"),
        format!("sidecar-init: pipelock exited pid={old} signal=SIGTERM"),
    ] {
        ensure!(stderr.contains(&line), "{line:?} missing\n{}", init.context());
    }
    // The old run saw SIGTERM before the new one started (one log, both runs).
    let report = init.report("pipelock");
    let between: Vec<&str> = report
        .lines()
        .skip_while(|l| Start::parse("pipelock", l).is_none())
        .skip(1)
        .take_while(|l| Start::parse("pipelock", l).is_none())
        .collect();
    ensure!(between.contains(&"pipelock signal 15 SIGTERM"), "old pipelock's SIGTERM: {between:?}");

    for (slot, before) in SLOTS.iter().zip(&first).filter(|(slot, _)| **slot != "pipelock") {
        ensure_eq!(init.starts(slot), vec![before.clone()], "{slot} was not restarted");
        ensure!(!init.report(slot).contains(" signal "), "{slot} got no signal\n{}", init.report(slot));
    }
    ensure!(init.running(), "the init keeps running after the restart\n{}", init.context());

    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "a replaced run does not count\n{}", init.context());
    Ok(())
}

#[test]
fn several_sigusr1_before_the_restart_completes_make_one_restart() -> Outcome {
    let init =
        Setup::new("usr1-coalesce")?.all_standins().standin("pipelock", &["--ignore-term"]).grace_ms(2000).start()?;
    let old = init.wait_started(&SLOTS)?.get(1).map(|s| s.pid).unwrap_or(0);

    // Each USR1 only after the init has handled the previous one, so none
    // merges with another in the kernel; all within the 2 s grace.
    init.signal(SIGUSR1)?;
    init.wait_stderr(&format!("restarting pipelock pid={old} (SIGUSR1)"))?;
    for pending in 1..=3 {
        init.signal(SIGUSR1)?;
        init.wait_for(&format!("{pending} `restart already pending` line(s)"), |init| {
            (init.stderr().matches("pipelock restart already pending (SIGUSR1)").count() >= pending).then_some(())
        })?;
    }
    ensure_eq!(
        init.starts("pipelock").len(),
        1,
        "still the old pipelock: the USR1s came within the grace\n{}",
        init.context()
    );

    init.wait_stderr(&format!("pipelock pid={old} outlived the grace; SIGKILL to its group"))?;
    let runs = init.wait_starts("pipelock", 2)?;
    init.wait_stderr(&format!("pipelock exited pid={old} signal=SIGKILL"))?;
    init.wait_stderr(&format!("pipelock started pid={}", runs.get(1).map(|s| s.pid).unwrap_or(0)))?;

    init.signal(SIGTERM)?;
    init.wait_exit()?;
    let stderr = init.stderr();
    ensure_eq!(stderr.matches("sidecar-init: restarting pipelock").count(), 1, "one restart\n{}", init.context());
    ensure_eq!(init.starts("pipelock").len(), 2, "pipelock ran twice in all\n{}", init.context());
    ensure!(!stderr.contains("restart dropped"), "no second restart was left pending\n{}", init.context());
    Ok(())
}

#[test]
fn sigusr1_when_pipelock_is_not_selected_is_logged_as_skipped() -> Outcome {
    let init = Setup::new("usr1-unselected")?.all_standins().daemons("egress").start()?;
    init.wait_started(&["egress"])?;
    init.signal(SIGUSR1)?;
    init.wait_stderr("sidecar-init: pipelock restart skipped: pipelock is not selected (SIGUSR1)")?;
    ensure!(init.running(), "the init keeps running\n{}", init.context());
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    ensure_eq!(init.scratch.files(), vec!["egress.log"], "no pipelock was started");
    ensure_eq!(init.starts("egress").len(), 1, "egress untouched");
    Ok(())
}

#[test]
fn sigusr1_starts_a_pipelock_that_had_died() -> Outcome {
    let init = Setup::new("usr1-down")?
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--exit", "4"])
        .start()?;
    let old = init.wait_started(&["egress", "pipelock"])?.get(1).map(|s| s.pid).unwrap_or(0);
    init.wait_stderr(&format!("sidecar-init: pipelock exited pid={old} code=4"))?;
    init.signal(SIGUSR1)?;
    init.wait_stderr("sidecar-init: restarting pipelock, which was down, (SIGUSR1)")?;
    let runs = init.wait_starts("pipelock", 2)?;
    let new = runs.get(1).map(|s| s.pid).unwrap_or(0);
    init.wait_stderr(&format!("sidecar-init: pipelock started pid={new}"))?;
    // The new run exits 4 again on its own: it counts, as the last run.
    init.wait_stderr(&format!("sidecar-init: pipelock exited pid={new} code=4"))?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(4), "exit code\n{}", init.context());
    Ok(())
}

#[test]
fn sigterm_during_a_restart_drops_it_and_keeps_the_restarts_deadline() -> Outcome {
    let init = Setup::new("usr1-then-term")?
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--ignore-term"])
        .grace_ms(1000)
        .start()?;
    let old = init.wait_started(&["egress", "pipelock"])?.get(1).map(|s| s.pid).unwrap_or(0);
    let restart_sent = Instant::now();
    init.signal(SIGUSR1)?;
    init.wait_stderr(&format!("restarting pipelock pid={old} (SIGUSR1)"))?;
    init.signal(SIGTERM)?;
    init.wait_stderr("sidecar-init: pending pipelock restart dropped: shutting down")?;
    let exit = init.wait_exit()?;
    let took = exit.at - restart_sent;
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    ensure_eq!(init.starts("pipelock").len(), 1, "no new pipelock after the shutdown began\n{}", init.context());
    ensure!(init.stderr().contains(&format!("pipelock pid={old} outlived the grace")), "{}", init.context());
    ensure!(took >= Duration::from_millis(990), "SIGKILL came before the restart's grace: {took:?}");
    ensure!(took < Duration::from_secs(5), "exited only after {took:?}");
    Ok(())
}

#[test]
fn sigint_shuts_down_like_sigterm() -> Outcome {
    let init = Setup::new("sigint")?.all_standins().start()?;
    init.wait_started(&SLOTS)?;
    init.signal(SIGINT)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    ensure!(init.stderr().contains("sidecar-init: shutting down (SIGINT); grace 8000 ms"), "{}", init.context());
    for slot in SLOTS {
        ensure!(
            init.report(slot).contains(&format!("{slot} signal 15 SIGTERM")),
            "{slot} got SIGTERM\n{}",
            init.context()
        );
    }
    Ok(())
}

#[test]
fn sighup_reaches_egress_only() -> Outcome {
    let init = Setup::new("hup")?.all_standins().start()?;
    let egress = init.wait_started(&SLOTS)?.first().map(|s| s.pid).unwrap_or(0);
    init.signal(SIGHUP)?;
    init.wait_report("egress", "egress signal 1 SIGHUP")?;
    init.wait_stderr(&format!("sidecar-init: SIGHUP forwarded to egress pid={egress}"))?;

    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    for slot in ["pipelock", "git-gate", "supervise"] {
        let report = init.report(slot);
        // Each one did receive signals (the SIGTERM), just not SIGHUP.
        ensure!(report.contains(&format!("{slot} signal 15 SIGTERM")), "{slot} saw the SIGTERM:\n{report}");
        ensure!(!report.contains("SIGHUP"), "{slot} must not get SIGHUP:\n{report}");
    }
    Ok(())
}

#[test]
fn sighup_without_egress_is_logged_not_forwarded() -> Outcome {
    let init = Setup::new("hup-no-egress")?.all_standins().daemons("pipelock").start()?;
    init.wait_started(&["pipelock"])?;
    init.signal(SIGHUP)?;
    init.wait_stderr("sidecar-init: SIGHUP not forwarded: egress is not running")?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    ensure!(!init.report("pipelock").contains("SIGHUP"), "pipelock must not get SIGHUP");
    Ok(())
}

#[test]
fn other_signals_are_logged_once_and_ignored() -> Outcome {
    let init = Setup::new("ignored")?.all_standins().daemons("egress").start()?;
    init.wait_started(&["egress"])?;
    init.signal(SIGUSR2)?;
    init.wait_stderr("sidecar-init: ignoring SIGUSR2")?;
    init.signal(SIGUSR2)?;
    // Real-time signals queue; they are named as Docker names them (kernel SIGRTMIN is 34).
    init.signal(37)?;
    init.wait_stderr("sidecar-init: ignoring SIGRTMIN+3")?;
    init.signal(37)?;
    // TERM (15) is dequeued after USR2 (12) should both be pending at once,
    // and the real-time 37 after it: its second copy may go unseen.
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    ensure_eq!(init.stderr().matches("ignoring SIGUSR2").count(), 1, "logged once\n{}", init.context());
    ensure_eq!(init.stderr().matches("ignoring SIGRTMIN+3").count(), 1, "logged once\n{}", init.context());
    ensure!(!init.report("egress").contains("SIGUSR2"), "not forwarded to egress");
    Ok(())
}

/// SPEC: "It blocks every signal except the synchronous fault signals".
/// SigBlk as the kernel shows it: all 64 bits but the seven faults and
/// KILL and STOP (which cannot be blocked).
#[test]
fn the_init_blocks_every_signal_but_the_faults() -> Outcome {
    let init = Setup::new("sigblk")?.all_standins().daemons("egress").start()?;
    init.wait_started(&["egress"])?;
    let bit = |sig: u32| 1u64 << (sig - 1);
    let unblockable = [4, 5, 6, 7, 8, 11, 31, 9, 19].iter().fold(0, |m, &s| m | bit(s));
    let expected = format!("{:016x}", !unblockable);
    let blocked = proc_status_field(init.host_pid, "SigBlk").unwrap_or_default();
    init.signal(SIGTERM)?;
    init.wait_exit()?;
    ensure_eq!(blocked, expected, "the init's blocked signals (signals 32..34 are bits 31..33)");
    Ok(())
}

/// Signal 34 is what `docker kill --signal RTMIN` sends; like any other
/// unrouted signal it must be logged and ignored, not kill the init.
#[test]
fn signal_34_is_logged_and_ignored_not_fatal() -> Outcome {
    let init = Setup::new("sig34")?.not_pid1().all_standins().daemons("egress").start()?;
    let egress = init.wait_started(&["egress"])?.first().map(|s| s.pid).unwrap_or(0);
    let outcome = (|| -> Outcome {
        init.signal(34)?;
        let logged = init.wait_for("an `ignoring SIGRTMIN` line, or the init's death", |init| {
            if init.stderr().contains("sidecar-init: ignoring SIGRTMIN") {
                Some(true)
            } else {
                init.exit_status().map(|_| false)
            }
        })?;
        let status = init.exit_status().map(|s| describe(&s)).unwrap_or_default();
        ensure!(logged, "signal 34 killed the init ({status}), orphaning egress\n{}", init.context());
        init.signal(SIGTERM)?;
        ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
        Ok(())
    })();
    if egress > 0 && alive(egress) {
        let _ = send(egress, SIGKILL); // orphaned when the init died
    }
    outcome
}

#[test]
fn second_sigterm_during_shutdown_changes_nothing() -> Outcome {
    let init = Setup::new("second-term")?
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--ignore-term"])
        .grace_ms(1500)
        .start()?;
    init.wait_started(&["egress"])?;
    let sent = Instant::now();
    init.signal(SIGTERM)?;
    init.wait_stderr("shutting down (SIGTERM); grace 1500 ms")?;
    init.signal(SIGINT)?;
    init.wait_stderr("SIGINT changes nothing: already shutting down")?;
    let exit = init.wait_exit()?;
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    ensure!(
        exit.at - sent >= Duration::from_millis(1450),
        "the second request did not shorten the grace: {:?}",
        exit.at - sent
    );
    ensure_eq!(
        init.report("egress").matches("signal 15 SIGTERM").count(),
        1,
        "egress got one SIGTERM\n{}",
        init.context()
    );
    Ok(())
}

// ------------------------------------------------------------ stopping

#[test]
fn a_daemon_ignoring_sigterm_is_sigkilled_at_the_grace_deadline() -> Outcome {
    let init = Setup::new("grace-kill")?
        .all_standins()
        .daemons("egress,pipelock")
        .standin("egress", &["--ignore-term"])
        .grace_ms(500)
        .start()?;
    let egress = init.wait_started(&["egress", "pipelock"])?.first().map(|s| s.pid).unwrap_or(0);
    let sent = Instant::now();
    init.signal(SIGTERM)?;
    let exit = init.wait_exit()?;
    let took = exit.at - sent;

    ensure_eq!(exit.code(), Some(0), "SIGKILL after our SIGTERM is a clean end\n{}", init.context());
    ensure!(took >= Duration::from_millis(490), "exited after {took:?}, before the 500 ms grace");
    ensure!(took < Duration::from_secs(5), "exited only after {took:?}");
    let stderr = init.stderr();
    for line in [
        "sidecar-init: shutting down (SIGTERM); grace 500 ms".to_string(),
        format!("sidecar-init: egress pid={egress} outlived the grace; SIGKILL to its group"),
        format!("sidecar-init: egress exited pid={egress} signal=SIGKILL"),
    ] {
        ensure!(stderr.contains(&line), "{line:?} missing\n{}", init.context());
    }
    ensure!(init.report("egress").contains("egress signal 15 SIGTERM"), "egress got SIGTERM first");
    ensure!(!stderr.contains("pipelock pid="), "pipelock stopped in time, no SIGKILL for it\n{stderr}");
    Ok(())
}

#[test]
fn strays_get_sigterm_then_sigkill_at_the_stop_deadline() -> Outcome {
    let init =
        Setup::new("sweep")?.all_standins().daemons("egress").standin("egress", &["--stray"]).grace_ms(700).start()?;
    init.wait_started(&["egress"])?;
    init.wait_report("egress", "egress-stray start")?;
    let container = init.children();
    ensure_eq!(container.len(), 2, "egress and its stray are the init's children");

    let sent = Instant::now();
    init.signal(SIGTERM)?;
    let exit = init.wait_exit()?;
    let took = exit.at - sent;
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    ensure!(
        init.report("egress").contains("egress-stray signal 15 SIGTERM"),
        "the stray was warned\n{}",
        init.context()
    );
    let stderr = init.stderr();
    let term = stderr.find("sidecar-init: SIGTERM to every process left in the container");
    let kill = stderr.find("sidecar-init: SIGKILL to every process left in the container");
    ensure!(matches!((term, kill), (Some(t), Some(k)) if t < k), "sweep TERM then KILL\n{stderr}");
    ensure!(took >= Duration::from_millis(690), "exited after {took:?}, before the 700 ms grace");
    ensure!(took < Duration::from_secs(5), "exited only after {took:?}");
    for pid in container {
        ensure!(!alive(pid), "host pid {pid} of the container survived");
    }
    Ok(())
}

#[test]
fn when_every_daemon_dies_on_its_own_strays_get_the_grace_from_the_sweep_start() -> Outcome {
    let init = Setup::new("sweep-after-death")?
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--stray", "--exit", "0"])
        .grace_ms(600)
        .start()?;
    init.wait_stderr("sidecar-init: SIGTERM to every process left in the container")?;
    let seen = Instant::now();
    let exit = init.wait_exit()?;
    let took = exit.at - seen;
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    let stderr = init.stderr();
    ensure!(stderr.contains("sidecar-init: every daemon has exited"), "{stderr}");
    ensure!(stderr.contains("sidecar-init: SIGKILL to every process left in the container"), "{stderr}");
    ensure!(
        init.report("egress").contains("egress-stray signal 15 SIGTERM"),
        "the stray was warned\n{}",
        init.context()
    );
    // Seen up to a poll period (and a scheduling hiccup) after it was sent.
    ensure!(took >= Duration::from_millis(500), "SIGKILL came {took:?} after the sweep's SIGTERM, grace 600 ms");
    ensure!(took < Duration::from_secs(5), "exited only after {took:?}");
    Ok(())
}

// ------------------------------------------------------------ start failures

#[test]
fn a_missing_program_gives_127_and_its_siblings_run() -> Outcome {
    let missing = format!("/nonexistent-{}/pipelock", std::process::id());
    let init = Setup::new("missing")?.all_standins().command("pipelock", &missing).start()?;
    init.wait_stderr(&format!(
        "sidecar-init: pipelock cannot start {missing}: No such file or directory (errno 2); code=127"
    ))?;
    init.wait_started(&["egress", "git-gate", "supervise"])?;
    ensure!(init.running(), "the siblings keep the init running\n{}", init.context());
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(127), "exit code\n{}", init.context());
    Ok(())
}

#[test]
fn a_program_on_path_that_is_missing_gives_127() -> Outcome {
    let init = Setup::new("missing-on-path")?
        .all_standins()
        .daemons("egress,git-gate")
        .command("git-gate", "no-such-program-sidecar-init-test --flag")
        .start()?;
    init.wait_stderr("sidecar-init: git-gate cannot start no-such-program-sidecar-init-test: No such file or directory (errno 2); code=127")?;
    init.wait_started(&["egress"])?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(127), "exit code\n{}", init.context());
    Ok(())
}

#[test]
fn a_bare_program_name_is_found_on_path() -> Outcome {
    let standin = standin_bin()?;
    let dir = standin.parent().ok_or("standin has no directory")?.to_string_lossy().into_owned();
    let init = Setup::new("path-lookup")?
        .all_standins()
        .daemons("supervise")
        .env("PATH", &format!("/nonexistent-dir:{dir}:/usr/bin:/bin"))
        .command("supervise", "standin supervise")
        .start()?;
    init.wait_started(&["supervise"])?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    Ok(())
}

#[test]
fn a_non_executable_program_gives_126() -> Outcome {
    let setup = Setup::new("not-executable")?;
    let file = setup.scratch_path().join("not-executable.sh");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n")?;
    let path = file.to_string_lossy().into_owned();
    let init = setup.all_standins().command("supervise", &quote(&path)).start()?;
    init.wait_stderr(&format!("sidecar-init: supervise cannot start {path}: Permission denied (errno 13); code=126"))?;
    init.wait_started(&["egress", "pipelock", "git-gate"])?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(126), "exit code\n{}", init.context());
    Ok(())
}

// ------------------------------------------------------------ reaping

#[test]
fn a_thousand_orphans_leave_no_zombie() -> Outcome {
    let init = Setup::new("orphans")?
        .all_standins()
        .daemons("egress,pipelock")
        .standin("egress", &["--orphans", "1000"])
        .start()?;
    init.wait_started(&["egress", "pipelock"])?;
    init.wait_report("egress", "egress orphans 1000 done")?;
    // Every orphan exits ~20 ms after birth; once reaped, only the two
    // daemons are left as the init's children. Zombies would stay.
    init.wait_for("only the two daemons left as the init's children, none a zombie", |init| {
        let kids = init.children();
        (kids.len() == 2 && init.zombie_children().is_empty()).then_some(())
    })?;
    let stderr = init.stderr();
    ensure_eq!(stderr.lines().count(), 2, "the orphans went unmentioned\n{}", tail(&stderr, 3000));
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    Ok(())
}

#[test]
fn not_pid1_it_reaps_orphans_as_subreaper_and_makes_no_sweep() -> Outcome {
    let init = Setup::new("subreaper")?
        .not_pid1()
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--stray", "--orphans", "50"])
        .grace_ms(300)
        .start()?;
    let start = init.wait_started(&["egress"])?.first().cloned().ok_or("no egress start")?;
    let egress = start.pid;
    ensure_eq!(start.ppid, init.host_pid, "egress is the init's child (host pids: not PID 1)");
    let stray_line = init.wait_report("egress", "egress-stray start")?;
    let field =
        |key: &str| -> Option<i32> { stray_line.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.parse().ok()) };
    let (stray, stray_parent) = (field("pid=").unwrap_or(0), field("ppid=").unwrap_or(0));
    let outcome = (|| -> Outcome {
        ensure_eq!(stray_parent, init.host_pid, "the orphaned stray was re-parented to the init (subreaper)");
        init.wait_report("egress", "egress orphans 50 done")?;
        init.wait_for("only egress and the stray left as children, no zombie", |init| {
            let kids = init.children();
            (kids == {
                let mut k = vec![egress, stray];
                k.sort_unstable();
                k
            } && init.zombie_children().is_empty())
            .then_some(())
        })?;
        ensure_eq!(init.stderr().lines().count(), 1, "the orphans went unmentioned\n{}", init.context());

        init.signal(SIGTERM)?;
        let exit = init.wait_exit()?;
        ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
        let stderr = init.stderr();
        ensure!(!stderr.contains("to every process left"), "no sweep when not PID 1\n{stderr}");
        ensure!(alive(stray), "the stray outlived the init\n{}", init.context());
        ensure!(!init.report("egress").contains("egress-stray signal"), "the stray got no signal\n{}", init.context());
        Ok(())
    })();
    if stray > 0 {
        let _ = send(stray, SIGKILL);
    }
    outcome
}

// ------------------------------------------------------------ logs

/// Checks every line of a captured stream: `[slot] ` then either a flood
/// line (checked and counted in order per slot), a standin report line, or
/// (stderr) one of the init's own lines. Returns the number of flood lines per slot.
fn check_prefixed_stream(bytes: &[u8], tag: &str) -> Result<BTreeMap<String, u64>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let body = text.strip_suffix('\n').ok_or("the stream does not end with a newline")?;
    let mut next: BTreeMap<String, u64> = SLOTS.iter().map(|s| (s.to_string(), 0)).collect();
    for (n, line) in body.split('\n').enumerate() {
        if tag == "err:" && line.starts_with("sidecar-init: ") {
            continue;
        }
        let short = line.get(..line.len().min(120)).unwrap_or(line);
        let (slot, rest) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .ok_or_else(|| format!("line {n} has no [slot] prefix: {short:?}"))?;
        let expected = next.get_mut(slot).ok_or_else(|| format!("line {n}: unknown slot: {short:?}"))?;
        if rest.starts_with(&format!("{slot}:")) {
            let k = check_flood_line(slot, tag, rest).map_err(|e| format!("line {n}: {e}"))?;
            if k != *expected {
                return Err(format!("line {n}: {slot} line k={k} arrived, expected k={expected}"));
            }
            *expected += 1;
        } else if !rest.starts_with(&format!("{slot} ")) {
            return Err(format!("line {n}: neither a flood nor a report line of {slot}: {short:?}"));
        }
    }
    Ok(next)
}

#[test]
fn concurrent_floods_keep_every_line_whole_prefixed_and_in_order() -> Outcome {
    const LINES: u64 = 20_000;
    let mut setup = Setup::new("flood")?;
    for (slot, chunk) in SLOTS.iter().zip(["7", "61", "397", "1000"]) {
        let lines = LINES.to_string();
        setup = setup.standin(slot, &["--flood", &lines, "--flood-stderr", &lines, "--chunk", chunk]);
    }
    let init = setup.start()?;
    for slot in SLOTS {
        init.wait_for(&format!("{slot} flood done"), |init| {
            init.report(slot).contains(&format!("{slot} flood done")).then_some(())
        })?;
    }
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", tail(&init.stderr(), 3000));

    let expected: BTreeMap<String, u64> = SLOTS.iter().map(|s| (s.to_string(), LINES)).collect();
    let out = init.with_stdout(|bytes| check_prefixed_stream(bytes, ""));
    ensure_eq!(out, Ok(expected.clone()), "stdout: every flood line whole, prefixed, complete and in order");
    let err = init.with_stderr(|bytes| check_prefixed_stream(bytes, "err:"));
    ensure_eq!(err, Ok(expected), "stderr: every flood line whole, prefixed, complete and in order");
    Ok(())
}

#[test]
fn lines_longer_than_4096_bytes_are_cut_into_prefixed_pieces() -> Outcome {
    const PIECE: usize = 4096;
    let init = Setup::new("long-lines")?
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--flood", "40", "--max-len", "10000", "--chunk", "1500"])
        .start()?;
    init.wait_report("egress", "egress flood done")?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());

    let stdout = init.stdout();
    // Report lines (`egress start ...`) aside, the rest are flood lines and
    // their continuation pieces, which are payload letters only.
    let mut pieces = stdout.lines().filter_map(|l| l.strip_prefix("[egress] ")).filter(|l| !l.starts_with("egress "));
    let unprefixed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("[egress] ")).collect();
    ensure!(
        unprefixed.is_empty(),
        "every piece is prefixed; unprefixed: {:?}",
        unprefixed.iter().map(|l| tail(l, 80)).collect::<Vec<_>>()
    );
    let (mut k, mut cut_lines) = (0u64, 0);
    while let Some(first) = pieces.next() {
        // The header `egress:k:len:` is in the first piece; it tells the whole length.
        let mut parts = first.splitn(4, ':');
        let len: usize =
            parts.nth(2).and_then(|l| l.parse().ok()).ok_or_else(|| format!("no header in {:?}", tail(first, 80)))?;
        let whole_len = format!("egress:{k}:{len}:").len() + len;
        let mut line = first.to_string();
        let mut count = 1;
        while line.len() < whole_len {
            ensure_eq!(line.len() % PIECE, 0, "line k={k}: every piece but the last is {PIECE} bytes");
            let more = pieces.next().ok_or_else(|| format!("line k={k} ends after {} bytes", line.len()))?;
            ensure!(more.len() <= PIECE, "line k={k}: a piece of {} bytes", more.len());
            line.push_str(more);
            count += 1;
        }
        ensure_eq!(line.len(), whole_len, "line k={k} reassembled");
        ensure_eq!(count, whole_len.div_ceil(PIECE), "line k={k} ({whole_len} bytes) in as many pieces of {PIECE}");
        let got = check_flood_line("egress", "", &line).map_err(Failure)?;
        ensure_eq!(got, k, "lines in order");
        cut_lines += usize::from(count > 1);
        k += 1;
    }
    ensure_eq!(k, 40, "every line arrived");
    ensure!(cut_lines >= 5, "only {cut_lines} of the lines were long enough to be cut");
    Ok(())
}

#[test]
fn a_last_line_without_newline_is_delivered() -> Outcome {
    let init = Setup::new("no-newline")?
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--no-newline", "last words, no newline", "--exit", "0"])
        .start()?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    let stdout = init.stdout();
    ensure!(
        stdout.lines().any(|l| l == "[egress] last words, no newline"),
        "the unterminated line, prefixed\n{stdout}"
    );
    ensure!(stdout.ends_with('\n'), "the init ends it with a newline\n{stdout:?}");
    Ok(())
}

/// Not PID 1, so no sweep: the stray keeps pipelock's stdout open past the
/// init's exit, and the unterminated text can only come out at that exit.
#[test]
fn an_unterminated_line_on_a_pipe_still_held_open_is_delivered_at_exit() -> Outcome {
    let init = Setup::new("no-newline-held")?
        .not_pid1()
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--stray", "--no-newline", "held open, no newline", "--exit", "0"])
        .start()?;
    init.wait_started(&["egress", "pipelock"])?;
    let stray_line = init.wait_report("pipelock", "pipelock-stray start")?;
    let stray: i32 = stray_line.split_whitespace().find_map(|kv| kv.strip_prefix("pid=")?.parse().ok()).unwrap_or(0);
    let outcome = (|| -> Outcome {
        init.wait_stderr("sidecar-init: pipelock exited")?;
        init.signal(SIGTERM)?;
        ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
        ensure!(alive(stray), "the stray still holds the pipe");
        let stdout = init.stdout();
        ensure!(
            stdout.lines().any(|l| l == "[pipelock] held open, no newline"),
            "the unterminated line, at exit\n{stdout}"
        );
        Ok(())
    })();
    if stray > 0 {
        let _ = send(stray, SIGKILL);
    }
    outcome
}

/// Each restart leaves the old run's pipes open when a descendant (here a
/// stray) still holds them; the new run's lines must still be prefixed.
#[test]
fn restarts_keep_output_prefixed_when_old_runs_pipes_are_still_held() -> Outcome {
    const RESTARTS: usize = 6;
    let init = Setup::new("restart-streams")?.all_standins().standin("pipelock", &["--stray"]).grace_ms(300).start()?;
    init.wait_started(&SLOTS)?;
    for run in 1..=RESTARTS + 1 {
        init.wait_starts("pipelock", run)?;
        init.wait_for(&format!("pipelock run {run}'s stray"), |init| {
            (init.report("pipelock").matches("pipelock-stray start").count() >= run).then_some(())
        })?;
        if run <= RESTARTS {
            init.signal(SIGUSR1)?;
        }
    }
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    let stdout = init.stdout();
    let unprefixed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('[')).collect();
    ensure!(
        unprefixed.is_empty(),
        "after {RESTARTS} restarts, lines reached stdout without [slot] prefix:\n{}",
        unprefixed.join("\n")
    );
    ensure_eq!(
        stdout.lines().filter(|l| l.starts_with("[pipelock] pipelock start ")).count(),
        RESTARTS + 1,
        "every run's start line, prefixed\n{stdout}"
    );
    Ok(())
}

#[test]
fn log_prefix_0_passes_daemon_lines_through_unprefixed() -> Outcome {
    let init = Setup::new("no-prefix")?
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--flood", "5", "--flood-stderr", "5", "--max-len", "30"])
        .env("CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX", "0")
        .start()?;
    init.wait_report("egress", "egress flood done")?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    let (stdout, stderr) = (init.stdout(), init.stderr());
    ensure!(stdout.lines().any(|l| l.starts_with("egress start pid=")), "start line unprefixed\n{stdout}");
    ensure!(!stdout.contains("[egress]") && !stderr.contains("[egress]"), "no prefix anywhere\n{stdout}\n{stderr}");
    let out: Vec<u64> = stdout
        .lines()
        .filter(|l| l.starts_with("egress:"))
        .filter_map(|l| check_flood_line("egress", "", l).ok())
        .collect();
    ensure_eq!(out, (0..5).collect::<Vec<u64>>(), "stdout flood lines, raw\n{stdout}");
    // Unprefixed, the daemon shares the init's stderr: the init's own lines
    // (one write each) may land inside a flood line the daemon wrote in
    // pieces. Cut them out, then the daemon's stream must be intact.
    let daemon_only = without_init_lines(&stderr);
    let err: Vec<u64> = daemon_only
        .lines()
        .filter(|l| l.starts_with("egress:"))
        .filter_map(|l| check_flood_line("egress", "err:", l).ok())
        .collect();
    ensure_eq!(err, (0..5).collect::<Vec<u64>>(), "stderr flood lines, raw\n{stderr}");
    Ok(())
}

/// `text` minus every `sidecar-init: ...\n` line, wherever it starts.
fn without_init_lines(text: &str) -> String {
    let mut rest = text;
    let mut kept = String::new();
    while let Some(at) = rest.find("sidecar-init: ") {
        kept.push_str(rest.get(..at).unwrap_or(""));
        let after = rest.get(at..).unwrap_or("");
        rest = after.find('\n').and_then(|end| after.get(end + 1..)).unwrap_or("");
    }
    kept.push_str(rest);
    kept
}

// ------------------------------------------------------------ exit codes

#[test]
fn a_daemon_that_exited_3_on_its_own_makes_the_init_exit_3() -> Outcome {
    let init = Setup::new("exit-3")?.all_standins().standin("git-gate", &["--exit", "3"]).start()?;
    let git_gate = init.wait_started(&SLOTS)?.get(2).map(|s| s.pid).unwrap_or(0);
    init.wait_stderr(&format!("sidecar-init: git-gate exited pid={git_gate} code=3"))?;
    ensure!(init.running(), "the siblings keep running\n{}", init.context());
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(3), "exit code\n{}", init.context());
    Ok(())
}

#[test]
fn when_every_daemon_dies_on_its_own_the_init_exits_with_the_highest_code() -> Outcome {
    let init = Setup::new("all-die")?
        .standin("egress", &["--exit", "1", "--after", "50"])
        .standin("pipelock", &["--exit", "5", "--after", "100"])
        .standin("git-gate", &["--exit", "0"])
        .standin("supervise", &["--exit", "2", "--after", "150"])
        .start()?;
    let exit = init.wait_exit()?;
    ensure_eq!(exit.code(), Some(5), "the highest code\n{}", init.context());
    let stderr = init.stderr();
    ensure!(stderr.contains("sidecar-init: every daemon has exited"), "{stderr}");
    ensure!(stderr.contains("sidecar-init: exiting code=5"), "{stderr}");
    ensure!(!stderr.contains("shutting down"), "no shutdown was asked\n{stderr}");
    Ok(())
}

#[test]
fn death_by_sigkill_on_its_own_counts_137() -> Outcome {
    let init =
        Setup::new("die-9")?.all_standins().daemons("egress,pipelock").standin("pipelock", &["--die", "9"]).start()?;
    init.wait_stderr("pipelock exited")?;
    ensure!(init.stderr().contains("signal=SIGKILL"), "{}", init.context());
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(137), "exit code\n{}", init.context());
    Ok(())
}

#[test]
fn exit_143_after_our_sigterm_is_clean() -> Outcome {
    let init = Setup::new("term-exit-143")?.all_standins().standin("egress", &["--term-exit", "143"]).start()?;
    let egress = init.wait_started(&SLOTS)?.first().map(|s| s.pid).unwrap_or(0);
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    let line = format!("egress exited pid={egress} code=143");
    ensure!(init.stderr().contains(&line), "{line:?} missing\n{}", init.context());
    Ok(())
}

#[test]
fn exit_1_after_our_sigterm_counts() -> Outcome {
    let init = Setup::new("term-exit-1")?.all_standins().standin("supervise", &["--term-exit", "1"]).start()?;
    init.wait_started(&SLOTS)?;
    init.signal(SIGTERM)?;
    ensure_eq!(init.wait_exit()?.code(), Some(1), "exit code\n{}", init.context());
    Ok(())
}

// ------------------------------------------------------------ configuration and CLI

#[test]
fn configuration_errors_exit_2_with_one_line_and_start_nothing() -> Outcome {
    let cases: [(&str, &str, &str); 8] = [
        ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", "abc", "'abc'"),
        ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", "3600001", "'3600001'"),
        ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", " 5", "' 5'"),
        ("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "egress,bogus", "'egress,bogus'"),
        ("CLAUDE_BOTTLE_SIDECAR_CMD_EGRESS", "'unbalanced", "''unbalanced'"),
        // Checked although the slot is not selected (DAEMONS is egress below).
        ("CLAUDE_BOTTLE_SIDECAR_CMD_SUPERVISE", " \t ", "' \\t '"),
        ("CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX", "yes", "'yes'"),
        ("CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX", "01", "'01'"),
    ];
    for (var, value, shown) in cases {
        let mut setup = Setup::new("config-error")?.all_standins();
        if var != "CLAUDE_BOTTLE_SIDECAR_DAEMONS" {
            setup = setup.daemons("egress");
        }
        let (init, exit) = run_to_exit(setup.env(var, value))?;
        let stderr = init.stderr();
        ensure_eq!(exit.code(), Some(2), "{var}={value:?}: exit code\n{}", init.context());
        ensure_eq!(stderr.matches('\n').count(), 1, "{var}={value:?}: one line\n{stderr}");
        ensure!(
            stderr.starts_with(&format!("sidecar-init: {var}={shown} ")),
            "{var}={value:?}: names variable and value\n{stderr}"
        );
        ensure!(stderr.contains("accepted"), "{var}={value:?}: says what is accepted\n{stderr}");
        ensure_eq!(init.stdout(), "", "{var}={value:?}: nothing on stdout");
        ensure!(init.scratch.files().is_empty(), "{var}={value:?}: nothing started: {:?}", init.scratch.files());
    }
    Ok(())
}

#[test]
fn daemons_naming_no_slot_exit_0_at_once() -> Outcome {
    for value in ["", " , "] {
        let started_at = Instant::now();
        let (init, exit) = run_to_exit(Setup::new("none-selected")?.all_standins().daemons(value))?;
        ensure_eq!(exit.code(), Some(0), "DAEMONS={value:?}: exit code\n{}", init.context());
        ensure!(exit.at - started_at < Duration::from_secs(5), "DAEMONS={value:?}: took {:?}", exit.at - started_at);
        ensure!(init.stderr().contains("no daemon selected"), "DAEMONS={value:?}: says so\n{}", init.context());
        ensure!(init.scratch.files().is_empty(), "DAEMONS={value:?}: nothing started");
    }
    Ok(())
}

#[test]
fn help_and_version_print_to_stdout_and_other_arguments_exit_2() -> Outcome {
    let (init, exit) = run_to_exit(Setup::new("help")?.not_pid1().args(&["--help"]))?;
    ensure_eq!(exit.code(), Some(0), "--help exit code");
    ensure!(init.stdout().starts_with("usage: sidecar-init"), "--help text\n{}", init.stdout());
    ensure!(init.stdout().contains("CLAUDE_BOTTLE_SIDECAR_DAEMONS"), "--help names the variables");
    ensure_eq!(init.stderr(), "", "--help: nothing on stderr");

    let (init, exit) = run_to_exit(Setup::new("version")?.not_pid1().args(&["--version"]))?;
    ensure_eq!(exit.code(), Some(0), "--version exit code");
    ensure_eq!(init.stdout(), format!("sidecar-init {}\n", env!("CARGO_PKG_VERSION")), "--version text");
    ensure_eq!(init.stderr(), "", "--version: nothing on stderr");

    for args in [&["--bogus"][..], &["--help", "extra"], &["run"]] {
        let (init, exit) = run_to_exit(Setup::new("bogus-arg")?.not_pid1().all_standins().args(args))?;
        ensure_eq!(exit.code(), Some(2), "{args:?}: exit code\n{}", init.context());
        ensure_eq!(init.stdout(), "", "{args:?}: nothing on stdout");
        ensure_eq!(init.stderr().lines().count(), 1, "{args:?}: one line\n{}", init.stderr());
        ensure!(init.scratch.files().is_empty(), "{args:?}: nothing started");
    }
    Ok(())
}

/// With nothing to do the init sleeps in one poll with no timeout: over an
/// idle second its context-switch counters do not move at all.
#[test]
fn an_idle_init_never_wakes_up() -> Outcome {
    let init = Setup::new("idle")?.all_standins().start()?;
    init.wait_started(&["egress", "pipelock", "git-gate", "supervise"])?;
    let switches = || {
        ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
            .map(|key| proc_status_field(init.host_pid, key).unwrap_or_default())
    };
    // Let the start-up lines drain, then watch a quiet second.
    let settled = init.wait_for("start-up output to settle", |_| {
        let before = switches();
        std::thread::sleep(std::time::Duration::from_millis(200));
        (switches() == before).then_some(before)
    })?;
    let cpu_before = cpu_ns(init.host_pid);
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let after = switches();
    let cpu_after = cpu_ns(init.host_pid);
    init.signal(SIGTERM)?;
    init.wait_exit()?;
    ensure_eq!(after, settled, "context switches of the idle init over one second");
    // A spinning init switches no context either: its CPU time must not move.
    ensure_eq!(cpu_after, cpu_before, "CPU time of the idle init over one second");
    Ok(())
}

/// A log reader that takes nothing (a slow log driver, a paused terminal)
/// must not hold up the stop: the init's writes never block its wait point.
#[test]
fn a_stalled_stdout_reader_does_not_hold_up_the_stop() -> Outcome {
    let init = Setup::new("stalled")?
        .daemons("egress")
        .standin("egress", &["--flood", "20000", "--max-len", "100"])
        .grace_ms(500)
        .stall_stdout()
        .start()?;
    init.wait_stderr("egress started")?;
    // The flood fills the init's stdout pipe and then egress's own pipe.
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    init.signal(SIGTERM)?;
    let logged = init.wait_stderr("shutting down (SIGTERM)");
    let exit = init.wait_exit_within(Duration::from_secs(8));
    let took = asked.elapsed();
    init.unstall_stdout();
    logged?;
    let exit = exit?;
    ensure!(took < Duration::from_secs(4), "stop took {took:?} with a stalled stdout reader\n{}", init.context());
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    Ok(())
}

/// A flood of real-time signals must not push out the SIGCHLD of a
/// daemon's death: the death is logged and the init exits.
#[test]
fn a_signal_flood_loses_no_child_exit() -> Outcome {
    let init = Setup::new("sigflood")?
        .not_pid1()
        .daemons("egress")
        .standin("egress", &["--exit", "0", "--after", "300"])
        .start()?;
    init.wait_stderr("egress started")?;
    let target = init.host_pid;
    let flood_until = Instant::now() + Duration::from_millis(1200);
    let flooders: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                while Instant::now() < flood_until {
                    // SAFETY: plain kill of the init under test.
                    unsafe { libc::kill(target, 40) };
                }
            })
        })
        .collect();
    let died = init.wait_stderr("egress exited");
    for flooder in flooders {
        let _ = flooder.join();
    }
    died?;
    ensure_eq!(init.wait_exit()?.code(), Some(0), "exit code\n{}", init.context());
    ensure!(init.zombie_children().is_empty(), "zombies left\n{}", init.context());
    Ok(())
}

/// `docker exec` processes live in the container but are not the init's
/// children; the sweep still gives them SIGTERM and the grace.
#[test]
fn the_sweep_waits_for_processes_that_are_not_the_inits_children() -> Outcome {
    let setup = Setup::new("nonchild")?.daemons("egress").standin("egress", &[]).grace_ms(800);
    let report = setup.scratch_path().to_path_buf();
    let standin = standin_bin()?;
    let init = setup.start()?;
    init.wait_stderr("egress started")?;
    // Like `docker exec`: entered from outside, parented outside.
    let mut outsider = std::process::Command::new("nsenter")
        .args(["-t", &init.host_pid.to_string(), "-p", "-m", "--"])
        .arg(&standin)
        .args(["outsider", "--ignore-term"])
        .env("STANDIN_REPORT", &report)
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Failure(format!("nsenter: {e}")))?;
    init.wait_report("outsider", "outsider start")?;
    let asked = Instant::now();
    init.signal(SIGTERM)?;
    let exit = init.wait_exit();
    let took = asked.elapsed();
    let _ = outsider.kill();
    let _ = outsider.wait();
    let exit = exit?;
    let outsider_report = init.report("outsider");
    ensure!(
        outsider_report.contains("outsider signal 15 SIGTERM"),
        "the sweep's SIGTERM did not reach the outsider: {outsider_report}\n{}",
        init.context()
    );
    ensure!(took >= Duration::from_millis(780), "exited after {took:?}, before the grace ran out\n{}", init.context());
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    Ok(())
}

/// With its stdout reader gone (`| head` exited), the pipe reports POLLERR
/// for ever; the init must still sleep, not spin.
#[test]
fn a_gone_stdout_reader_does_not_make_the_init_spin() -> Outcome {
    let init = Setup::new("gone")?.daemons("egress").standin("egress", &["--flood", "2000"]).close_stdout().start()?;
    init.wait_report("egress", "egress flood done")?;
    std::thread::sleep(Duration::from_millis(200));
    let busy = cpu_ns(init.host_pid).zip({
        std::thread::sleep(Duration::from_millis(500));
        cpu_ns(init.host_pid)
    });
    init.signal(SIGTERM)?;
    let exit = init.wait_exit()?;
    let (before, after) = busy.ok_or("no schedstat for the init")?;
    let spent = after.saturating_sub(before);
    ensure!(spent < 20_000_000, "the init used {spent} ns of CPU in 500 ms with no stdout reader\n{}", init.context());
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    Ok(())
}

/// CPU time a process has used, in ns (`/proc/PID/schedstat`, first field).
fn cpu_ns(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A daemon that dies while the init's output is backed up (a slow reader)
/// still has every line delivered whole: its unfinished last line is not
/// sent before the rest of it has been read from the pipe.
#[test]
fn a_slow_reader_gets_every_line_whole_across_a_daemons_death() -> Outcome {
    let init = Setup::new("slowread")?
        .daemons("egress")
        .standin("egress", &["--flood", "20000", "--max-len", "120", "--chunk", "997", "--exit", "0"])
        .slow_stdout()
        .start()?;
    let exit = init.wait_exit()?;
    let stdout = init.stdout();
    let mut next = 0u64;
    for line in stdout.lines().filter(|l| l.starts_with("[egress] egress:")) {
        let k = check_flood_line("egress", "", line.trim_start_matches("[egress] "))
            .map_err(|why| Failure(format!("line {next}: {why}: {line:?}")))?;
        ensure_eq!(k, next, "flood lines in order");
        next += 1;
    }
    ensure_eq!(next, 20000, "flood lines received whole\n{}", init.context());
    ensure_eq!(exit.code(), Some(0), "exit code\n{}", init.context());
    Ok(())
}

/// With stdout and stderr on one pipe (`2>&1 | reader`) and a slow reader,
/// a line cut by a partial write is finished before any other line starts.
#[test]
fn one_pipe_for_stdout_and_stderr_keeps_every_line_whole() -> Outcome {
    let init = Setup::new("merged")?
        .daemons("egress")
        .standin("egress", &["--flood", "8000", "--flood-stderr", "8000", "--max-len", "120", "--exit", "0"])
        .merged_output()
        .start()?;
    let exit = init.wait_exit()?;
    let text = init.stdout();
    let (mut out, mut err) = (0u64, 0u64);
    for line in text.lines() {
        if line.starts_with("sidecar-init: ") || line.starts_with("[egress] egress ") {
            continue;
        }
        let body = line.strip_prefix("[egress] ").ok_or_else(|| Failure(format!("unprefixed line {line:?}")))?;
        if body.starts_with("egress:err:") {
            ensure_eq!(check_flood_line("egress", "err:", body).map_err(Failure)?, err, "stderr order");
            err += 1;
        } else {
            ensure_eq!(check_flood_line("egress", "", body).map_err(Failure)?, out, "stdout order");
            out += 1;
        }
    }
    ensure_eq!((out, err), (8000, 8000), "whole lines on the shared pipe\n{}", init.context());
    ensure_eq!(exit.code(), Some(0), "exit code");
    Ok(())
}
