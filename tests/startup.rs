//! Start-up (SPEC: Slots, Daemons; the PATH lookup of Configuration): the
//! slots start in order, each daemon as its own session leader with a clean
//! inheritance and the init's environment; a program that cannot start gives
//! 127 or 126 and its siblings still run.
//!
//! The real binary as PID 1 of a new PID namespace with stand-in daemons:
//! see tests/README.md. Run with `make integration`.

mod support;

use std::path::Path;

use support::*;

const NO_SIGNALS: &str = "0000000000000000";

#[test]
fn all_four_start_in_slot_order_as_session_leaders() {
    let init = Setup::new("start-order").all_standins().start();
    let starts = init.wait_started(&SLOTS);

    let logged = started(&init.stderr());
    let names: Vec<&str> = logged.iter().map(|(slot, _)| slot.as_str()).collect();
    assert_eq!(names, SLOTS, "`started` lines in slot order");
    for ((slot, logged_pid), start) in logged.iter().zip(&starts) {
        assert_eq!(start.pid, *logged_pid, "{slot}'s own pid is the one the init logged");
        assert_eq!(start.ppid, 1, "{slot}'s parent is the init (PID 1)");
        assert_eq!(start.pgid, start.pid, "{slot} leads its process group");
        assert_eq!(start.sid, start.pid, "{slot} leads its session");
    }
    // A fresh PID namespace hands out pids in creation order: the spawn order.
    let pids: Vec<i32> = starts.iter().map(|s| s.pid).collect();
    assert!(pids.windows(2).all(|w| w[0] < w[1]), "standins started in slot order, pids {pids:?}");
    assert!(init.running(), "the init keeps running");

    init.stop_expecting(0);
    for (slot, pid) in &logged {
        init.assert_stderr_has(&format!("sidecar-init: {slot} exited pid={pid} signal=SIGTERM"));
    }
    init.assert_stderr_has("sidecar-init: exiting code=0");
}

#[test]
fn daemons_get_empty_signal_mask_default_dispositions_and_only_fds_0_1_2() {
    for hostile in [false, true] {
        let mut setup = Setup::new("clean-inheritance").all_standins();
        if hostile {
            setup = setup.hostile_inheritance();
        }
        let init = setup.start();
        let starts = init.wait_started(&SLOTS);
        if hostile {
            // The oddities really were inherited: fd 7 is open in the init
            // (close-on-exec now), and unshare, the init's parent, shows the mask.
            assert!(Path::new(&format!("/proc/{}/fd/7", init.pid())).exists(), "the init inherited fd 7");
            let stdin = std::fs::read_link(format!("/proc/{}/fd/0", init.pid())).ok();
            assert_eq!(stdin, Some("/dev/null".into()), "the init put /dev/null on its closed fd 0");
            let unshare = parent_of(init.pid());
            let mask = |key: &str| proc_status_field(unshare, key).and_then(|hex| u64::from_str_radix(&hex, 16).ok());
            let (hup, pipe, usr2, alrm) = (1u64 << 0, 1u64 << 12, 1u64 << 11, 1u64 << 13);
            assert_eq!(mask("SigIgn").map(|m| m & (hup | pipe)), Some(hup | pipe), "unshare ignores HUP and PIPE");
            assert_eq!(mask("SigBlk").map(|m| m & (usr2 | alrm)), Some(usr2 | alrm), "unshare blocks USR2 and ALRM");
        }
        for (slot, start) in SLOTS.iter().zip(&starts) {
            assert_eq!(start.sigblk, NO_SIGNALS, "{slot}'s blocked signals (hostile={hostile})");
            assert_eq!(start.sigign, NO_SIGNALS, "{slot}'s ignored signals (hostile={hostile})");
            assert_eq!(start.fds, "0,1,2", "{slot}'s open descriptors (hostile={hostile})");
        }
        init.stop_expecting(0);
    }
}

#[test]
fn daemons_get_the_inits_environment_unchanged() {
    let init = Setup::new("environment")
        .all_standins()
        .daemons("git-gate")
        .env("ODD_VALUE", "a=b  c\"'$HOME")
        .env("EMPTY_VALUE", "")
        .start();
    init.wait_started(&["git-gate"]);
    let environ = |pid: i32| -> Vec<Vec<u8>> {
        let path = format!("/proc/{pid}/environ");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let mut vars: Vec<Vec<u8>> = bytes.split(|&b| b == 0).filter(|v| !v.is_empty()).map(<[u8]>::to_vec).collect();
        vars.sort();
        vars
    };
    let daemon = *init.children().first().expect("git-gate is a child of the init");
    let (theirs, ours) = (environ(daemon), environ(init.pid()));
    init.stop();
    assert!(ours.iter().any(|v| v == b"ODD_VALUE=a=b  c\"'$HOME"), "the init got the odd variable: {ours:?}");
    assert_eq!(theirs, ours, "git-gate's environment is the init's");
}

#[test]
fn a_missing_program_gives_127_and_its_siblings_run() {
    let missing = format!("/nonexistent-{}/pipelock", std::process::id());
    let init = Setup::new("missing").all_standins().command("pipelock", &missing).start();
    init.wait_stderr(&format!(
        "sidecar-init: pipelock cannot start {missing}: No such file or directory (errno 2); code=127"
    ));
    init.wait_started(&["egress", "git-gate", "supervise"]);
    assert!(init.running(), "the siblings keep the init running");
    init.stop_expecting(127);
}

#[test]
fn a_program_on_path_that_is_missing_gives_127() {
    let init = Setup::new("missing-on-path")
        .all_standins()
        .daemons("egress,git-gate")
        .command("git-gate", "no-such-program-sidecar-init-test --flag")
        .start();
    init.wait_stderr("sidecar-init: git-gate cannot start no-such-program-sidecar-init-test: No such file or directory (errno 2); code=127");
    init.wait_started(&["egress"]);
    init.stop_expecting(127);
}

#[test]
fn a_bare_program_name_is_found_on_path() {
    let standin = standin_bin();
    let dir = standin.parent().expect("the standin binary is in a directory").to_string_lossy().into_owned();
    let init = Setup::new("path-lookup")
        .all_standins()
        .daemons("supervise")
        .env("PATH", &format!("/nonexistent-dir:{dir}:/usr/bin:/bin"))
        .command("supervise", "standin supervise")
        .start();
    init.wait_started(&["supervise"]);
    init.stop_expecting(0);
}

#[test]
fn a_non_executable_program_gives_126() {
    let setup = Setup::new("not-executable");
    let file = setup.scratch_path().join("not-executable.sh");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").expect("write the script");
    let path = file.to_string_lossy().into_owned();
    let init = setup.all_standins().command("supervise", &quote(&path)).start();
    init.wait_stderr(&format!("sidecar-init: supervise cannot start {path}: Permission denied (errno 13); code=126"));
    init.wait_started(&["egress", "pipelock", "git-gate"]);
    init.stop_expecting(126);
}
