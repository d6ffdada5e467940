//! Configuration and command line (SPEC: Configuration): which slots
//! DAEMONS selects, configuration errors, a selection of none, `--help`,
//! `--version` and usage errors.
//!
//! The real binary as PID 1 of a new PID namespace (or, for the command
//! line, as a plain child) with stand-in daemons: see tests/README.md.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[test]
fn subset_selection_runs_exactly_the_named_slots_in_slot_order() {
    let init = Setup::new("subset").all_standins().daemons(" supervise , egress,egress").start();
    init.wait_started(&["egress", "supervise"]);

    let names: Vec<String> = started(&init.stderr()).into_iter().map(|(slot, _)| slot).collect();
    assert_eq!(names, vec!["egress", "supervise"], "started slots");
    init.stop_expecting(0);
    assert_eq!(init.scratch.files(), vec!["egress.log", "supervise.log"], "which standins ran");
    assert_eq!(init.starts("egress").len(), 1, "egress ran once (duplicates count once)");
}

#[test]
fn configuration_errors_exit_2_with_one_line_and_start_nothing() {
    let cases: [(&str, &str, &str); 13] = [
        ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", "abc", "'abc'"),
        ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", "3600001", "'3600001'"),
        ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", " 5", "' 5'"),
        ("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "egress,bogus", "'egress,bogus'"),
        ("CLAUDE_BOTTLE_SIDECAR_CMD_EGRESS", "'unbalanced", "''unbalanced'"),
        // Checked although the slot is not selected (DAEMONS is egress below).
        ("CLAUDE_BOTTLE_SIDECAR_CMD_SUPERVISE", " \t ", "' \\t '"),
        ("CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX", "yes", "'yes'"),
        ("CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX", "01", "'01'"),
        // The restart policy; names of unselected slots are fine, unknown ones are not.
        ("CLAUDE_BOTTLE_SIDECAR_RESTART", "supervise,bogus", "'supervise,bogus'"),
        ("CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY_MS", "3600001", "'3600001'"),
        ("CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT", "1001", "'1001'"),
        ("CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT", "-1", "'-1'"),
        ("CLAUDE_BOTTLE_SIDECAR_ESSENTIAL", "egress\r", "'egress\\r'"),
    ];
    for (var, value, shown) in cases {
        let mut setup = Setup::new("config-error").all_standins();
        if var != "CLAUDE_BOTTLE_SIDECAR_DAEMONS" {
            setup = setup.daemons("egress");
        }
        let (init, exit) = run_to_exit(setup.env(var, value));
        let stderr = init.stderr();
        assert_eq!(exit.code(), Some(2), "{var}={value:?}: exit code");
        assert_eq!(stderr.matches('\n').count(), 1, "{var}={value:?}: one line");
        assert!(
            stderr.starts_with(&format!("sidecar-init: {var}={shown} ")),
            "{var}={value:?}: names variable and value"
        );
        assert!(stderr.contains("accepted"), "{var}={value:?}: says what is accepted");
        assert_eq!(init.stdout(), "", "{var}={value:?}: nothing on stdout");
        assert!(init.scratch.files().is_empty(), "{var}={value:?}: nothing started: {:?}", init.scratch.files());
    }
}

#[test]
fn daemons_naming_no_slot_exit_0_at_once() {
    for value in ["", " , "] {
        let started_at = Instant::now();
        let (init, exit) = run_to_exit(Setup::new("none-selected").all_standins().daemons(value));
        assert_eq!(exit.code(), Some(0), "DAEMONS={value:?}: exit code");
        assert!(exit.at - started_at < Duration::from_secs(5), "DAEMONS={value:?}: took {:?}", exit.at - started_at);
        assert!(init.stderr().contains("no daemon selected"), "DAEMONS={value:?}: says so");
        assert!(init.scratch.files().is_empty(), "DAEMONS={value:?}: nothing started");
    }
}

#[test]
fn help_and_version_print_to_stdout_and_other_arguments_exit_2() {
    {
        let (init, exit) = run_to_exit(Setup::new("help").not_pid1().args(&["--help"]));
        assert_eq!(exit.code(), Some(0), "--help exit code");
        assert!(init.stdout().starts_with("usage: sidecar-init"), "--help text");
        assert!(init.stdout().contains("CLAUDE_BOTTLE_SIDECAR_DAEMONS"), "--help names the variables");
        assert_eq!(init.stderr(), "", "--help: nothing on stderr");
    }
    {
        let (init, exit) = run_to_exit(Setup::new("version").not_pid1().args(&["--version"]));
        assert_eq!(exit.code(), Some(0), "--version exit code");
        assert_eq!(init.stdout(), format!("sidecar-init {}\n", env!("CARGO_PKG_VERSION")), "--version text");
        assert_eq!(init.stderr(), "", "--version: nothing on stderr");
    }
    for args in [&["--bogus"][..], &["--help", "extra"], &["run"]] {
        let (init, exit) = run_to_exit(Setup::new("bogus-arg").not_pid1().all_standins().args(args));
        assert_eq!(exit.code(), Some(2), "{args:?}: exit code");
        assert_eq!(init.stdout(), "", "{args:?}: nothing on stdout");
        assert_eq!(init.stderr().lines().count(), 1, "{args:?}: one line");
        assert!(init.scratch.files().is_empty(), "{args:?}: nothing started");
    }
}
