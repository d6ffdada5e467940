//! Least privilege per slot (SPEC): each daemon's uid, gid, groups and
//! no_new_privs (`CLAUDE_BOTTLE_SIDECAR_USER_<SLOT>`), private variables
//! (`CLAUDE_BOTTLE_SIDECAR_PRIVATE_<SLOT>`), a switch that fails, and their
//! configuration errors.
//!
//! The real binary as PID 1 of a new PID namespace with stand-in daemons
//! (see tests/README.md); what a daemon runs as and what it was given is
//! read from /proc/<pid>/status and /proc/<pid>/environ.

mod support;

use support::*;

const NOBODY: &str = "65534";

fn user_var(slot: &str) -> String {
    format!("CLAUDE_BOTTLE_SIDECAR_USER_{}", slot.to_uppercase().replace('-', "_"))
}

fn private_var(slot: &str) -> String {
    format!("CLAUDE_BOTTLE_SIDECAR_PRIVATE_{}", slot.to_uppercase().replace('-', "_"))
}

/// The host pid of `slot`'s current daemon: the init's child whose pid in
/// the init's namespace (the last of `NSpid`) the last `started` line gave.
fn daemon(init: &Init, slot: &str) -> i32 {
    init.wait_for(&format!("{slot}'s daemon among the init's children"), |init| {
        let (_, ns_pid) = started(&init.stderr()).into_iter().rev().find(|(s, _)| s == slot)?;
        init.children().into_iter().find(|&child| {
            let nspid = proc_status_field(child, "NSpid").unwrap_or_default();
            nspid.split_whitespace().last().and_then(|p| p.parse().ok()) == Some(ns_pid)
        })
    })
}

/// A /proc/<pid>/status field, its values split on blanks.
fn status(pid: i32, key: &str) -> Vec<String> {
    let value = proc_status_field(pid, key).unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"));
    value.split_whitespace().map(str::to_string).collect()
}

/// What a process runs as: real, effective, saved and filesystem uid and
/// gid, its supplementary groups and NoNewPrivs.
#[derive(Debug, PartialEq, Eq)]
struct Credentials {
    uid: Vec<String>,
    gid: Vec<String>,
    groups: Vec<String>,
    no_new_privs: String,
}

fn credentials(pid: i32) -> Credentials {
    Credentials {
        uid: status(pid, "Uid"),
        gid: status(pid, "Gid"),
        groups: status(pid, "Groups"),
        no_new_privs: status(pid, "NoNewPrivs").join(""),
    }
}

fn exactly(uid: &str, gid: &str) -> Credentials {
    Credentials {
        uid: vec![uid.to_string(); 4],
        gid: vec![gid.to_string(); 4],
        groups: vec![gid.to_string()],
        no_new_privs: "1".to_string(),
    }
}

/// The `NAME=value` entries of a process's environment, in order.
fn environ(pid: i32) -> Vec<String> {
    let path = format!("/proc/{pid}/environ");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    bytes.split(|&b| b == 0).filter(|v| !v.is_empty()).map(|v| String::from_utf8_lossy(v).into_owned()).collect()
}

/// The init's environment in the order the init itself gets it. Under
/// qemu-user (`make test ARCH=aarch64` sets SIDECAR_QEMU=1) /proc shows the
/// host process's, and qemu lays out the guest's envp in reverse of it.
fn init_environ(pid: i32) -> Vec<String> {
    let mut vars = environ(pid);
    if std::env::var_os("SIDECAR_QEMU").is_some() {
        vars.reverse();
    }
    vars
}

#[test]
fn a_slot_with_a_user_runs_as_exactly_that_uid_gid_and_group_with_no_new_privs() {
    // The init has supplementary groups a daemon with a user must not keep.
    let init = Setup::new("user")
        .all_standins()
        .wrapped(&["setpriv", "--groups=4,27", "--"])
        .writable_scratch()
        .env(&user_var("pipelock"), "65534:65534")
        .env(&user_var("git-gate"), "65533:65532")
        .env(&user_var("supervise"), "4242")
        .start();
    init.wait_started(&SLOTS);

    assert_eq!(credentials(daemon(&init, "pipelock")), exactly(NOBODY, NOBODY), "pipelock");
    assert_eq!(credentials(daemon(&init, "git-gate")), exactly("65533", "65532"), "git-gate");
    assert_eq!(
        credentials(daemon(&init, "supervise")),
        exactly("4242", "4242"),
        "supervise: the gid defaults to the uid"
    );
    // Without USER: as the init, uid and gid and groups and all.
    let ours = credentials(init.pid());
    assert_eq!((ours.uid.join(" "), ours.groups.join(" ")), ("0 0 0 0".into(), "4 27".into()), "the init's ids");
    assert_eq!(credentials(daemon(&init, "egress")), ours, "egress runs as the init");

    // Signals from the root init reach the unprivileged groups: a clean stop.
    init.stop_expecting(0);
    for slot in ["pipelock", "git-gate", "supervise"] {
        init.assert_report_has(slot, &format!("{slot} signal 15 SIGTERM"));
    }
}

#[test]
fn an_unprivileged_daemon_is_restarted_stopped_and_swept_as_before() {
    let init = Setup::new("user-restart")
        .all_standins()
        .daemons("egress,pipelock")
        .writable_scratch()
        .standin("pipelock", &["--stray"])
        .env(&user_var("pipelock"), NOBODY)
        .grace_ms(700)
        .start();
    init.wait_started(&["egress", "pipelock"]);
    init.wait_report("pipelock", "pipelock-stray start");
    let old = daemon(&init, "pipelock");

    init.signal(SIGUSR1);
    init.wait_starts("pipelock", 2);
    init.wait_stderr("sidecar-init: pipelock exited");
    let new = init.wait_for("the new pipelock", |init| Some(daemon(init, "pipelock")).filter(|&p| p != old));
    assert_eq!(credentials(new), exactly(NOBODY, NOBODY), "the restarted pipelock");
    assert!(!alive(old), "the old pipelock is gone");

    let container = init.children();
    init.stop_expecting(0);
    // The strays of both runs, in their own sessions, got the sweep's SIGTERM.
    init.assert_report_has("pipelock", "pipelock-stray signal 15 SIGTERM");
    for pid in container {
        assert!(!alive(pid), "host pid {pid} of the container survived");
    }
}

#[test]
fn a_switch_that_fails_gives_126_with_the_ids_and_the_error_and_the_siblings_run() {
    // The init itself runs as nobody, so it cannot become root again. Such
    // an init cannot reopen the test's pipes non-blocking and, as the base
    // init already did, exits only a second after the stop's deadline even
    // when all is done: a short grace keeps the test short.
    let init = Setup::new("user-fails")
        .all_standins()
        .run_as(65534, 65534)
        .grace_ms(300)
        .env(&user_var("pipelock"), "0")
        .env(&user_var("git-gate"), "65534:0")
        .start();
    init.wait_stderr(
        "sidecar-init: pipelock cannot switch to uid 0 gid 0: Operation not permitted (errno 1); code=126",
    );
    init.wait_stderr(
        "sidecar-init: git-gate cannot switch to uid 65534 gid 0: Operation not permitted (errno 1); code=126",
    );
    init.wait_started(&["egress", "supervise"]);
    assert_eq!(init.starts("pipelock"), vec![], "pipelock never ran");
    assert_eq!(credentials(daemon(&init, "egress")).uid, vec![NOBODY; 4], "egress runs as the init: nobody");
    assert!(init.running(), "the siblings keep the init running");
    init.stop_expecting(126);
}

#[test]
fn a_private_variable_reaches_only_the_slots_that_claim_it() {
    let init = Setup::new("private")
        .all_standins()
        .env(&private_var("egress"), " EGRESS_TOKEN_* ,SHARED")
        .env(&private_var("pipelock"), "SHARED,")
        .env(&private_var("git-gate"), "GATE_KEY")
        .env("EGRESS_TOKEN_A", "secret-a")
        .env("EGRESS_TOKEN_B", "")
        .env("EGRESS_TOKEN", "not-the-prefix")
        .env("SHARED", "both")
        .env("GATE_KEY", "k")
        .env("OPEN", "everyone")
        .start();
    init.wait_started(&SLOTS);
    let ours = init_environ(init.pid());
    let gets = |slot: &str| environ(daemon(&init, slot));
    let (egress, pipelock, git_gate, supervise) =
        (gets("egress"), gets("pipelock"), gets("git-gate"), gets("supervise"));
    init.stop_expecting(0);

    // Each daemon gets the init's environment, in order, minus the entries
    // private to other slots.
    let without = |names: &[&str]| -> Vec<String> {
        ours.iter().filter(|e| !names.iter().any(|n| e.split('=').next() == Some(*n))).cloned().collect()
    };
    assert_eq!(egress, without(&["GATE_KEY"]), "egress");
    assert_eq!(pipelock, without(&["EGRESS_TOKEN_A", "EGRESS_TOKEN_B", "GATE_KEY"]), "pipelock");
    assert_eq!(git_gate, without(&["EGRESS_TOKEN_A", "EGRESS_TOKEN_B", "SHARED"]), "git-gate");
    assert_eq!(supervise, without(&["EGRESS_TOKEN_A", "EGRESS_TOKEN_B", "SHARED", "GATE_KEY"]), "supervise");
    // And the test's own view of it.
    assert!(egress.contains(&"EGRESS_TOKEN_A=secret-a".to_string()), "egress has its token");
    assert!(!pipelock.iter().any(|e| e.starts_with("EGRESS_TOKEN_A=")), "pipelock lacks egress's token");
    for (slot, env) in [("egress", &egress), ("pipelock", &pipelock)] {
        assert!(env.contains(&"SHARED=both".to_string()), "{slot}: a name claimed by two slots reaches both");
    }
    for (slot, env) in
        [("egress", &egress), ("pipelock", &pipelock), ("git-gate", &git_gate), ("supervise", &supervise)]
    {
        assert!(env.contains(&"OPEN=everyone".to_string()), "{slot}: unclaimed variables reach everyone");
        assert!(env.contains(&"EGRESS_TOKEN=not-the-prefix".to_string()), "{slot}: EGRESS_TOKEN is not EGRESS_TOKEN_*");
    }
}

#[test]
fn configuration_errors_exit_2_with_one_line_and_start_nothing() {
    let cases: [(String, &str, &str); 12] = [
        (user_var("pipelock"), "nobody", "numeric only"),
        (user_var("pipelock"), "nobody:nogroup", "numeric only"),
        (user_var("egress"), "-1", "numeric only"),
        (user_var("egress"), "+1000", "numeric only"),
        (user_var("egress"), " 1000", "numeric only"),
        (user_var("egress"), "4294967295", "each 0 to 4294967294"),
        (user_var("egress"), "1000:99999999999", "each 0 to 4294967294"),
        (user_var("egress"), "1000:", "UID or UID:GID"),
        // Checked although the slot is not selected (DAEMONS is egress below).
        (user_var("supervise"), "x", "numeric only"),
        (private_var("egress"), "*", "has a bad name '*'"),
        (private_var("git-gate"), "A, B-C", "has a bad name 'B-C'"),
        (private_var("supervise"), "1A*", "has a bad name '1A*'"),
    ];
    for (var, value, says) in cases {
        let (init, exit) = run_to_exit(Setup::new("privilege-error").all_standins().daemons("egress").env(&var, value));
        let stderr = init.stderr();
        assert_eq!(exit.code(), Some(2), "{var}={value:?}: exit code");
        assert_eq!(stderr.matches('\n').count(), 1, "{var}={value:?}: one line: {stderr:?}");
        assert!(stderr.starts_with(&format!("sidecar-init: {var}='{value}' ")), "{var}={value:?}: {stderr:?}");
        assert!(stderr.contains(says), "{var}={value:?}: says {says:?}: {stderr:?}");
        assert!(stderr.contains("accepted"), "{var}={value:?}: says what is accepted");
        assert!(init.scratch.files().is_empty(), "{var}={value:?}: nothing started");
    }
}

#[test]
fn empty_values_mean_the_defaults() {
    let init = Setup::new("privilege-empty")
        .all_standins()
        .daemons("egress")
        .env(&user_var("egress"), "")
        .env(&private_var("egress"), "")
        .env(&private_var("pipelock"), " , ")
        .env("TOKEN", "t")
        .start();
    init.wait_started(&["egress"]);
    let egress = daemon(&init, "egress");
    assert_eq!(credentials(egress), credentials(init.pid()), "egress runs as the init");
    assert_eq!(environ(egress), init_environ(init.pid()), "egress gets the init's environment");
    init.stop_expecting(0);
}
