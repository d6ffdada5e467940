//! The control socket and the client subcommands (SPEC: Control socket and
//! subcommands): `status`, `health`, `restart`, `signal` and `events`
//! against the real init as PID 1, peers of another uid, many clients,
//! clients that never read or send garbage, no idle wake-ups, `off`, and a
//! path socket. Each init listens on its own abstract name (tests/support).
//!
//! Run with `make integration`.

mod support;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use support::*;

/// A slot's daemon pid (in the init's PID namespace, as its lines and
/// events give it), from its last `started` line.
fn pid_of(init: &Init, slot: &str) -> i32 {
    started(&init.stderr()).iter().rev().find(|(s, _)| s == slot).map(|(_, pid)| *pid).expect("a started line")
}

/// Kills a slot's daemon: a death of its own, as far as the init knows.
fn kill(init: &Init, slot: &str) {
    let answer = init.client(&["signal", slot, "KILL"]);
    assert_eq!(answer.code, Some(0), "signal {slot} KILL: {answer:?}");
}

#[test]
fn status_while_running_stopping_and_after_a_death() {
    let init = Setup::new("status").all_standins().standin("supervise", &["--ignore-term"]).grace_ms(3000).start();
    init.wait_started(&SLOTS);
    let answer = init.client(&["status"]);
    assert_eq!(answer.code, Some(0), "{answer:?}");
    assert_eq!(answer.stderr, "");
    let lines: Vec<&str> = answer.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", answer.stdout);
    assert!(lines[0].starts_with("bundle running uptime="), "{}", lines[0]);
    for (line, slot) in lines[1..].iter().zip(SLOTS) {
        let pid = pid_of(&init, slot);
        assert!(line.starts_with(&format!("{slot} up pid={pid} uptime=")), "{line}");
        assert!(line.ends_with(" restarts=0 code=-"), "{line}");
    }

    // git-gate dies on its own: down, with its code, and the others stay up.
    let git_gate = pid_of(&init, "git-gate");
    kill(&init, "git-gate");
    init.wait_stderr(&format!("git-gate exited pid={git_gate} signal=SIGKILL"));
    assert_eq!(init.status_of("git-gate"), ["git-gate", "down", "pid=-", "uptime=-", "restarts=0", "code=137"]);
    assert_eq!(init.status_of("egress")[1], "up");

    // Stopping: supervise ignores SIGTERM for the grace.
    init.signal(SIGTERM);
    init.wait_stderr("shutting down (SIGTERM)");
    init.wait_stderr("egress exited");
    let answer = init.client(&["status"]);
    assert_eq!(answer.code, Some(0), "status while stopping: {answer:?}");
    assert!(answer.stdout.starts_with("bundle stopping uptime="), "{}", answer.stdout);
    let supervise = pid_of(&init, "supervise");
    assert!(answer.stdout.contains(&format!("\nsupervise stopping pid={supervise} ")), "{}", answer.stdout);
    let health = init.client(&["health"]);
    assert_eq!(health.code, Some(1), "{health:?}");
    assert!(health.stderr.starts_with("unhealthy: bundle stopping, "), "{health:?}");
    init.wait_exit();
}

#[test]
fn health_goes_unhealthy_when_a_daemon_dies_and_healthy_again_after_restart() {
    let init = Setup::new("health").all_standins().start();
    init.wait_started(&SLOTS);
    let answer = init.client(&["health"]);
    assert_eq!((answer.code, answer.stdout.as_str(), answer.stderr.as_str()), (Some(0), "healthy\n", ""));

    let pipelock = pid_of(&init, "pipelock");
    kill(&init, "pipelock");
    init.wait_stderr(&format!("pipelock exited pid={pipelock}"));
    let answer = init.client(&["health"]);
    assert_eq!((answer.code, answer.stdout.as_str()), (Some(1), ""), "{answer:?}");
    assert_eq!(answer.stderr, "unhealthy: pipelock down\n");

    let answer = init.client(&["restart", "pipelock"]);
    assert_eq!(answer.code, Some(0), "{answer:?}");
    assert_eq!(answer.stdout, "sidecar-init: restarting pipelock, which was down, (sidecar-init restart)\n");
    init.wait_starts("pipelock", 2);
    init.wait_for("health to be ok again", |init| (init.client(&["health"]).code == Some(0)).then_some(()));
    init.stop_expecting(0);
}

#[test]
fn restart_git_gate_replaces_only_git_gate() {
    let init = Setup::new("restart").all_standins().start();
    let first = init.wait_started(&SLOTS);
    let old = pid_of(&init, "git-gate");
    let answer = init.client(&["restart", "git-gate"]);
    assert_eq!(answer.code, Some(0), "{answer:?}");
    assert_eq!(answer.stdout, format!("sidecar-init: restarting git-gate pid={old} (sidecar-init restart)\n"));
    let runs = init.wait_starts("git-gate", 2);
    init.wait_stderr(&format!("git-gate started pid={}", runs[1].pid));
    init.assert_report_has("git-gate", "git-gate signal 15 SIGTERM");
    for (slot, before) in SLOTS.iter().zip(&first).filter(|(slot, _)| **slot != "git-gate") {
        assert_eq!(init.starts(slot), vec![before.clone()], "{slot} was not restarted");
    }
    init.assert_stderr_has(&format!("sidecar-init: git-gate exited pid={old} signal=SIGTERM"));
    // The replaced run does not count.
    init.stop_expecting(0);
}

#[test]
fn restart_is_refused_for_an_unselected_slot_and_during_a_shutdown() {
    let init = Setup::new("restart-no")
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--ignore-term"])
        .grace_ms(3000)
        .start();
    init.wait_started(&["egress"]);
    let answer = init.client(&["restart", "pipelock"]);
    assert_eq!(answer.code, Some(1), "{answer:?}");
    assert_eq!(
        answer.stderr,
        "sidecar-init: pipelock restart skipped: pipelock is not selected (sidecar-init restart)\n"
    );
    init.signal(SIGTERM);
    init.wait_stderr("shutting down");
    let answer = init.client(&["restart", "egress"]);
    assert_eq!(answer.code, Some(1), "{answer:?}");
    assert_eq!(answer.stderr, "sidecar-init: egress restart skipped: shutting down (sidecar-init restart)\n");
    init.wait_exit();
}

#[test]
fn signal_egress_hup_reaches_egress_only() {
    let init = Setup::new("signal").all_standins().start();
    init.wait_started(&SLOTS);
    let egress = pid_of(&init, "egress");
    let answer = init.client(&["signal", "egress", "HUP"]);
    assert_eq!(answer.code, Some(0), "{answer:?}");
    assert_eq!(answer.stdout, format!("sidecar-init: SIGHUP forwarded to egress pid={egress}\n"));
    init.wait_report("egress", "egress signal 1 SIGHUP");
    // By number, and to another slot.
    let supervise = pid_of(&init, "supervise");
    assert_eq!(init.client(&["signal", "supervise", "12"]).code, Some(0));
    init.wait_report("supervise", "supervise signal 12 SIGUSR2");
    assert_eq!(init.client(&["signal", "supervise", "SIGWINCH"]).code, Some(0));
    init.wait_report("supervise", "supervise signal 28 SIGWINCH");
    init.assert_stderr_has(&format!("SIGWINCH forwarded to supervise pid={supervise}"));
    init.stop_expecting(0);
    for slot in ["pipelock", "git-gate"] {
        init.assert_report_lacks(slot, "SIGHUP");
        init.assert_report_lacks(slot, "SIGUSR2");
    }
    init.assert_report_lacks("egress", "SIGUSR2");
}

#[test]
fn signal_to_a_slot_without_a_daemon_is_refused() {
    let init = Setup::new("signal-down").all_standins().standin("git-gate", &["--exit", "0"]).start();
    init.wait_started(&SLOTS);
    init.wait_stderr("git-gate exited");
    let answer = init.client(&["signal", "git-gate", "HUP"]);
    assert_eq!(answer.code, Some(1), "{answer:?}");
    assert_eq!(answer.stderr, "sidecar-init: SIGHUP not forwarded: git-gate is not running\n");
    init.stop_expecting(0);
}

#[test]
fn an_events_client_sees_each_event_as_one_json_line() {
    let init = Setup::new("events").all_standins().start();
    init.wait_started(&SLOTS);
    let mut events = Events::open(&init.control);
    let old = pid_of(&init, "git-gate");
    assert_eq!(init.client(&["restart", "git-gate"]).code, Some(0));
    let seen = events.until("\"event\":\"started\"");
    let kinds: Vec<String> = seen.iter().map(|l| json_field(l, "event").unwrap()).collect();
    assert_eq!(kinds, ["restart_requested", "exited", "started"], "{seen:?}");
    assert!(
        seen[0].starts_with(&format!("{{\"event\":\"restart_requested\",\"slot\":\"git-gate\",\"pid\":{old},\"ts\":")),
        "{}",
        seen[0]
    );
    assert_eq!(json_field(&seen[1], "signal").as_deref(), Some("15"));
    let new = json_field(&seen[2], "pid").unwrap();
    init.wait_stderr(&format!("git-gate started pid={new}"));
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for line in &seen {
        let ts: i64 = json_field(line, "ts").unwrap().parse().unwrap();
        assert!((now_ms - ts).abs() < 60_000, "ts {ts} is Unix ms (now {now_ms}): {line}");
    }

    // A death of its own, a forwarded signal, then the shutdown and the exit.
    let pipelock = pid_of(&init, "pipelock");
    kill(&init, "pipelock");
    let seen = events.until("\"event\":\"exited\"");
    assert_eq!(
        seen.last().map(|l| l.split(",\"ts\"").next().unwrap().to_string()),
        Some(format!("{{\"event\":\"exited\",\"slot\":\"pipelock\",\"pid\":{pipelock},\"signal\":9"))
    );
    assert_eq!(init.client(&["signal", "egress", "HUP"]).code, Some(0));
    let seen = events.until("\"event\":\"forwarded\"");
    assert!(seen
        .last()
        .unwrap()
        .contains(&format!("\"slot\":\"egress\",\"pid\":{},\"signal\":1,", pid_of(&init, "egress"))));
    init.signal(SIGTERM);
    let seen = events.until("\"event\":\"exit\"");
    assert!(
        seen[0].starts_with("{\"event\":\"shutdown\",\"slot\":null,\"pid\":null,\"signal\":15,\"ts\":"),
        "{seen:?}"
    );
    assert_eq!(seen.iter().filter(|l| l.contains("\"event\":\"exited\"")).count(), 3, "{seen:?}");
    assert!(
        seen.last().unwrap().starts_with("{\"event\":\"exit\",\"slot\":null,\"pid\":null,\"code\":137,\"ts\":"),
        "{seen:?}"
    );
    assert_eq!(events.line(), None, "the stream ends when the init exits");
    init.expect_exit(137);
}

#[test]
fn the_events_subcommand_prints_the_stream_until_the_init_exits() {
    let init = Setup::new("events-cli").all_standins().daemons("egress").start();
    init.wait_started(&["egress"]);
    let child = client_command(Some(&init.control), &["events"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    // Its `ok` is read before anything is sent: wait until the init serves it.
    init.wait_for("the events client to be connected", |init| {
        (init.client(&["signal", "egress", "HUP"]).code == Some(0)).then_some(())
    });
    init.wait_report("egress", "SIGHUP");
    let exit = init.stop();
    assert_eq!(exit.code(), Some(0));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| l.starts_with("{\"event\":\"") && l.ends_with('}')), "{text}");
    assert!(text.lines().last().unwrap().starts_with("{\"event\":\"exit\""), "{text}");
}

#[test]
fn a_peer_with_another_uid_is_closed_unanswered() {
    let init = Setup::new("peer-uid").all_standins().daemons("egress").start();
    init.wait_started(&["egress"]);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(init_bin())
        .args(["signal", "egress", "HUP"])
        .env_clear()
        .env(CONTROL_VAR, &init.control)
        .output()
        .expect("setpriv");
    let answer = Answer::from(out);
    assert_eq!(answer.code, Some(3), "{answer:?}");
    assert_eq!(answer.stdout, "");
    assert_eq!(answer.stderr.lines().count(), 1, "one line: {answer:?}");
    assert!(answer.stderr.contains(&init.control), "{answer:?}");
    // Nothing was done, and root is still served.
    assert_eq!(init.client(&["status"]).code, Some(0));
    init.stop_expecting(0);
    init.assert_report_lacks("egress", "SIGHUP");
    init.assert_stderr_lacks("forwarded");
}

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn twenty_clients_at_once_are_served_or_closed_and_none_is_left_open() {
    let init = Setup::new("twenty").all_standins().start();
    init.wait_started(&SLOTS);
    let fds = open_fds(init.pid());
    let clients: Vec<_> = (0..20)
        .map(|_| {
            client_command(Some(&init.control), &["status"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let answers: Vec<Answer> = clients.into_iter().map(|c| c.wait_with_output().unwrap().into()).collect();
    let served = answers.iter().filter(|a| a.code == Some(0)).count();
    for answer in &answers {
        match answer.code {
            Some(0) => assert_eq!(answer.stdout.lines().count(), 5, "{answer:?}"),
            Some(3) => assert_eq!(answer.stderr.lines().count(), 1, "{answer:?}"),
            _ => panic!("{answer:?}"),
        }
    }
    eprintln!("{served} of 20 simultaneous clients served");
    assert!(served >= 8, "{served} of 20 served");
    // Eight that stay (events) fill the table: the ninth is closed at once.
    let mut streams: Vec<Events> = (0..8).map(|_| Events::open(&init.control)).collect();
    let ninth = init.client(&["status"]);
    assert_eq!(ninth.code, Some(3), "a ninth client: {ninth:?}");
    streams.pop();
    init.wait_for("a place for a new client", |init| (init.client(&["status"]).code == Some(0)).then_some(()));
    drop(streams);
    init.wait_for("every client's descriptor to be closed", |init| (open_fds(init.pid()) == fds).then_some(()));
    init.stop_expecting(0);
}

#[test]
fn a_client_that_never_reads_loses_events_and_is_told_how_many_when_it_catches_up() {
    let init = Setup::new("never-reads").all_standins().daemons("egress").start();
    init.wait_started(&["egress"]);
    let mut stalled = connect(&init.control);
    stalled.write_all(b"events").unwrap();
    // Each request gives one `forwarded` event; SIGCHLD does nothing to the stand-in.
    let requests = 6000;
    let started = Instant::now();
    for n in 0..requests {
        let answer = ask_raw(&init.control, "signal egress CHLD");
        assert!(answer.starts_with("ok\nsidecar-init: SIGCHLD forwarded to egress"), "request {n}: {answer:?}");
    }
    eprintln!("{requests} requests answered in {:?} with one client not reading", started.elapsed());
    assert_eq!(init.client(&["health"]).code, Some(0), "the init still answers");

    // Now read it all: the events it kept, the count of the others, then new ones.
    stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = std::io::BufReader::new(stalled);
    let mut line = String::new();
    use std::io::BufRead;
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ok\n");
    let mut forwarded = 0u64;
    let dropped: u64 = loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        if line.contains("\"event\":\"forwarded\"") {
            forwarded += 1;
        } else {
            assert!(line.starts_with("{\"event\":\"dropped\",\"count\":"), "{line:?}");
            break json_field(&line, "count").unwrap().parse().unwrap();
        }
    };
    eprintln!("kept {forwarded} events, dropped {dropped}");
    assert!(dropped > 0, "nothing was dropped: the socket took all {requests}");
    assert_eq!(forwarded + dropped, requests, "every event is either delivered or counted");
    assert_eq!(init.client(&["signal", "egress", "HUP"]).code, Some(0));
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("{\"event\":\"forwarded\",\"slot\":\"egress\""), "events flow again: {line:?}");
    assert!(line.contains("\"signal\":1,"), "{line}");
    init.stop_expecting(0);
}

#[test]
fn garbage_oversized_and_silent_clients_are_closed_without_harm() {
    let init = Setup::new("garbage").all_standins().daemons("egress").start();
    init.wait_started(&["egress"]);
    let silent: Vec<_> = (0..8).map(|_| connect(&init.control)).collect();
    for request in
        ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "status please", "status\n", "\n", "restart egress pipelock", "stat"]
    {
        let mut stream = connect(&init.control);
        stream.write_all(request.as_bytes()).unwrap();
        assert_eq!(read_all(&mut stream).unwrap(), "", "{request:?} is closed unanswered");
    }
    // An oversized request, a valid one and 100 KB more: the init reads the
    // first 64 bytes of the message (the kernel drops the rest) and closes
    // it unanswered. (A 1 MB message is refused by the client's kernel:
    // larger than a socket's send buffer.)
    let mut stream = connect(&init.control);
    let mut big = b"status".to_vec();
    big.resize(100 << 10, b' ');
    stream.write_all(&big).expect("a 100 KB message");
    assert_eq!(read_all(&mut stream).unwrap(), "", "an oversized request is closed unanswered");
    // Eight silent clients did not keep anyone out, and nothing else changed.
    assert_eq!(init.client(&["status"]).code, Some(0));
    drop(silent);
    assert_eq!(init.starts("egress").len(), 1);
    init.stop_expecting(0);
}

/// As tests/signals.rs' idle test, with a control socket and an `events`
/// client connected: over an idle second nothing moves.
#[test]
fn an_idle_events_client_causes_no_wake_ups() {
    let init = Setup::new("idle-events").all_standins().start();
    init.wait_started(&SLOTS);
    let _events = Events::open(&init.control);
    assert_eq!(init.client(&["health"]).code, Some(0));
    let switches = || {
        ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
            .map(|key| proc_status_field(init.pid(), key).unwrap_or_else(|| panic!("the init's {key}")))
    };
    let settled = init.wait_for("start-up output to settle", |_| {
        let before = switches();
        thread::sleep(Duration::from_millis(200));
        (switches() == before).then_some(before)
    });
    let cpu_before = cpu_ns(init.pid());
    thread::sleep(Duration::from_millis(1000));
    let after = switches();
    let cpu_after = cpu_ns(init.pid());
    init.stop();
    assert_eq!(after, settled, "context switches of the idle init over one second");
    assert_eq!(cpu_after, cpu_before, "CPU time of the idle init over one second");
}

#[test]
fn control_off_listens_nowhere() {
    let init = Setup::new("off").all_standins().daemons("egress").env(CONTROL_VAR, "off").start();
    init.wait_started(&["egress"]);
    let sockets = std::fs::read_dir(format!("/proc/{}/fd", init.pid()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count();
    assert_eq!(sockets, 0, "the init has a socket open");
    let answer = init.client(&["status"]);
    assert_eq!(answer.code, Some(3), "{answer:?}");
    assert_eq!(answer.stderr, "sidecar-init: control is off (CLAUDE_BOTTLE_SIDECAR_CONTROL=off)\n");
    init.stop_expecting(0);
    init.assert_stderr_lacks("listen");
}

#[test]
fn a_path_socket_replaces_a_stale_one_and_is_removed_at_exit() {
    let setup = Setup::new("path").all_standins().daemons("egress");
    let path = setup.scratch_path().join("control.sock");
    // A stale socket file left by an earlier init.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let init = setup.env(CONTROL_VAR, path.to_str().unwrap()).start();
    init.wait_started(&["egress"]);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&path).unwrap().file_type().is_socket());
    assert_eq!(init.client(&["health"]).code, Some(0));
    init.stop_expecting(0);
    assert!(!path.exists(), "{} is left after the exit", path.display());
}

#[test]
fn failing_to_listen_is_logged_and_the_init_runs_on() {
    let first = Setup::new("listen-1").all_standins().daemons("egress").start();
    first.wait_started(&["egress"]);
    let second = Setup::new("listen-2").all_standins().daemons("egress").env(CONTROL_VAR, &first.control).start();
    second.wait_started(&["egress"]);
    second.wait_stderr(
        "sidecar-init: cannot listen on the control socket; running without control (Address in use, errno 98)",
    );
    // A regular file at a path is not replaced.
    let file = second.scratch.path.join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let third =
        Setup::new("listen-3").all_standins().daemons("egress").env(CONTROL_VAR, file.to_str().unwrap()).start();
    third.wait_started(&["egress"]);
    third.wait_stderr("running without control");
    third.stop_expecting(0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    second.stop_expecting(0);
    assert_eq!(first.client(&["status"]).code, Some(0), "the first still answers");
    first.stop_expecting(0);
}

#[test]
fn client_usage_errors_exit_2_and_no_init_answering_exits_3() {
    for args in [
        &["restart"][..],
        &["restart", "proxy"],
        &["signal", "egress", "0"],
        &["signal", "egress", "HUP", "x"],
        &["status", "now"],
        &["bogus"],
    ] {
        // No init anywhere: a 2 shows nothing was tried.
        let answer = run_client(Some("@sidecar-init-test-nobody"), args);
        assert_eq!(answer.code, Some(2), "{args:?}: {answer:?}");
        assert_eq!(answer.stderr.lines().count(), 1, "{args:?}");
        assert!(answer.stderr.contains("usage: sidecar-init"), "{answer:?}");
    }
    let answer = run_client(Some("@sidecar-init-test-nobody"), &["status"]);
    assert_eq!(answer.code, Some(3), "{answer:?}");
    assert_eq!(
        answer.stderr,
        "sidecar-init: no init answers at '@sidecar-init-test-nobody': Connection refused (errno 111)\n"
    );
    let answer = run_client(Some("/nonexistent/x.sock"), &["health"]);
    assert_eq!(answer.code, Some(3), "{answer:?}");
    let answer = run_client(Some("relative.sock"), &["health"]);
    assert_eq!(answer.code, Some(2), "{answer:?}");
    assert!(
        answer.stderr.starts_with("sidecar-init: CLAUDE_BOTTLE_SIDECAR_CONTROL='relative.sock' is not accepted"),
        "{answer:?}"
    );
}

// ---------------------------------------------------------------- with the restart policy

const RESTART: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART";
const DELAY: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY_MS";
const LIMIT: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT";

#[test]
fn a_crash_with_the_restart_policy_shows_as_exited_restarting_started() {
    let init = Setup::new("events-policy").all_standins().env(RESTART, "git-gate").env(DELAY, "300").start();
    init.wait_started(&SLOTS);
    let mut events = Events::open(&init.control);
    let old = pid_of(&init, "git-gate");
    kill(&init, "git-gate");
    let seen = events.until("\"event\":\"started\"");
    let kinds: Vec<String> = seen.iter().map(|l| json_field(l, "event").unwrap()).collect();
    assert_eq!(kinds, ["forwarded", "exited", "restarting", "started"], "{seen:?}");
    assert!(seen[1].starts_with(&format!("{{\"event\":\"exited\",\"slot\":\"git-gate\",\"pid\":{old},\"signal\":9,")));
    // The pid of a restarting or failed event is the run's that ended.
    assert!(seen[2]
        .starts_with(&format!("{{\"event\":\"restarting\",\"slot\":\"git-gate\",\"pid\":{old},\"delay_ms\":300,")));
    let gap: i64 = json_field(&seen[3], "ts").unwrap().parse::<i64>().unwrap()
        - json_field(&seen[2], "ts").unwrap().parse::<i64>().unwrap();
    assert!((250..2_000).contains(&gap), "started {gap} ms after restarting, the delay is 300 ms");
    // The second run is counted.
    let new = json_field(&seen[3], "pid").unwrap();
    init.wait_stderr(&format!("git-gate started pid={new}"));
    assert_eq!(init.status_of("git-gate")[4], "restarts=1");
    init.stop_expecting(0);
}

#[test]
fn status_shows_waiting_and_failed_and_restart_brings_a_failed_slot_back_at_once() {
    let init = Setup::new("status-policy")
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--exit", "3"])
        .env(RESTART, "pipelock")
        .env(DELAY, "1000")
        .env(LIMIT, "1")
        .start();
    init.wait_started(&["egress", "pipelock"]);
    // First death: waiting for its second.
    init.wait_stderr("pipelock restarting in 1000 ms");
    let status = init.status_of("pipelock");
    assert_eq!(status[..2], ["pipelock", "waiting"], "{status:?}");
    assert_eq!(status[5], "code=3");
    let health = init.client(&["health"]);
    assert_eq!((health.code, health.stderr.as_str()), (Some(1), "unhealthy: pipelock waiting\n"));
    // Second death: past the limit of 1.
    init.wait_stderr("pipelock failed: 2 quick deaths in a row; not restarting");
    assert_eq!(init.status_of("pipelock")[..5], ["pipelock", "failed", "pid=-", "uptime=-", "restarts=1"]);
    let last = pid_of(&init, "pipelock");
    let mut events = Events::open(&init.control);
    let answer = init.client(&["restart", "pipelock"]);
    assert_eq!(answer.code, Some(0), "{answer:?}");
    let seen = events.until("\"event\":\"started\"");
    let requested = format!("{{\"event\":\"restart_requested\",\"slot\":\"pipelock\",\"pid\":{last},");
    assert!(seen[0].starts_with(&requested), "the last run's pid: {seen:?}");
    assert_eq!(seen.len(), 2, "started at once, no delay: {seen:?}");
    init.stop();
}

#[test]
fn out_of_descriptors_the_init_gives_up_control_once_and_runs_on() {
    let init = Setup::new("accept-emfile").all_standins().start();
    init.wait_started(&SLOTS);
    assert_eq!(init.client(&["status"]).code, Some(0));
    // No descriptor left for a client: accept fails with EMFILE.
    let fds: Vec<u64> = std::fs::read_dir(format!("/proc/{}/fd", init.pid()))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let lowest_free = (0..).find(|n| !fds.contains(n)).unwrap();
    set_nofile(init.pid(), lowest_free);
    let answer = init.client(&["status"]);
    assert_eq!(answer.code, Some(3), "{answer:?}");
    init.wait_stderr(
        "sidecar-init: cannot listen on the control socket; running without control (Too many open files, errno 24)",
    );
    assert_eq!(init.client(&["status"]).code, Some(3), "no control any more");
    // Not spinning on a listener that stays ready: the CPU time stands still.
    let cpu = cpu_ns(init.pid());
    thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ns(init.pid()), cpu, "the init spins");
    init.stop_expecting(0);
    assert_eq!(init.stderr().matches("running without control").count(), 1);
}

/// An `events` client that shuts its reading side down (`shutdown(SHUT_RD)`)
/// and stays connected: the init's sends to it fail with EPIPE however
/// writable its socket is. That must not make the init spin on a count of
/// lost events it can never deliver: over a second it sleeps.
#[test]
fn an_events_client_that_stops_reading_for_good_does_not_make_the_init_spin() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let init = Setup::new("events-shut-rd").all_standins().start();
    init.wait_started(&SLOTS);
    let mut events = connect(&init.control);
    events.write_all(b"events").unwrap();
    let mut ok = [0u8; 16];
    assert_eq!(events.read(&mut ok).unwrap(), 3, "the answer to `events`");
    // SAFETY: shutdown on the connection's open descriptor.
    assert_eq!(unsafe { libc::shutdown(events.as_raw_fd(), libc::SHUT_RD) }, 0);
    // An event it cannot take.
    let answer = init.client(&["signal", "egress", "WINCH"]);
    assert_eq!(answer.code, Some(0), "{answer:?}");
    let (_, cpu) = init.idle_second();
    assert_eq!(init.client(&["health"]).code, Some(0));
    init.stop();
    assert!(cpu < 50_000_000, "the init used {cpu} ns of CPU over an idle second");
}

/// A `signal` request for a slot that is starting is answered at once:
/// refused, with the reason, and not sent later behind the answer's back
/// (on control-land it was held for the exec, and its client got a bare
/// `no` and exit 1 with nothing said, while the signal went out after).
/// The init is stopped while two clients queue their requests: it takes
/// one a wake, so the restart starts egress and the signal is served in
/// the next wake, before egress's exec is read.
#[test]
fn a_signal_for_a_starting_slot_is_refused_with_its_reason() {
    let init = Setup::new("signal-starting").all_standins().start();
    init.wait_started(&SLOTS);
    let egress = pid_of(&init, "egress");
    kill(&init, "egress");
    init.wait_stderr(&format!("egress exited pid={egress} signal=SIGKILL"));
    init.signal(libc::SIGSTOP);
    let mut restart = connect(&init.control);
    restart.write_all(b"restart egress").unwrap();
    let mut signal = connect(&init.control);
    signal.write_all(b"signal egress WINCH").unwrap();
    init.signal(libc::SIGCONT);
    let restarted = read_all(&mut restart).unwrap();
    assert_eq!(restarted, "ok\nsidecar-init: restarting egress, which was down, (sidecar-init restart)\n");
    let answer = read_all(&mut signal).unwrap();
    assert_eq!(answer, "no\nsidecar-init: SIGWINCH not forwarded: egress is not running\n");
    init.wait_starts("egress", 2);
    // A request after it is answered: by then any held signal went out.
    assert_eq!(init.client(&["status"]).code, Some(0));
    init.assert_stderr_lacks("SIGWINCH forwarded");
    init.stop_expecting(0);
}
