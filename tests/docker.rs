//! sidecar-init under a real Docker engine, driven the way Docker drives the
//! sidecar bundle: `docker run`, `docker kill --signal`, `docker stop`.
//!
//! Runs against the offline demo image (`make demo-image`: FROM scratch,
//! sidecar-init plus the stand-in daemon in every slot) and needs an engine
//! that answers (`tools/docker-engine start`). `make docker-test` does both.
//! With no engine or no image every test fails; none is skipped.
//!
//! Environment: `SIDECAR_DEMO_IMAGE` (default `claude-bottle-sidecars-demo:latest`),
//! `DOCKER` (the client, default `docker`).
//!
//! A failed check panics; the [`Container`] guard then prints the
//! container's `docker logs` once and removes it.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::demo::{
    all_ports, assert_line, assert_restarts_pipelock_alone, count, demo_created, demo_run, image, pid_of, PATIENCE,
    QUICK_STOP, SLOT_PORTS,
};
use support::docker::{docker, docker_ok, pids_of, run_label, Container, ASK_EVERY, DOCKER_STOP_TIMEOUT};
use support::{children_of, proc_status_field, started, wait_until, SLOTS};

// ---- the image --------------------------------------------------------------

/// Regular files of a tar stream: (path, contents).
fn tar_files(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    fn text(raw: &[u8]) -> String {
        String::from_utf8_lossy(&raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())]).into_owned()
    }
    let mut files = Vec::new();
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while let Some(h) = tar.get(at..at + 512) {
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size_field = text(&h[124..136]);
        let size = usize::from_str_radix(size_field.trim(), 8).unwrap_or_else(|_| panic!("tar size {size_field:?}"));
        let data = tar.get(at + 512..at + 512 + size).expect("a whole tar stream");
        let (kind, prefix, name) = (h[156], text(&h[345..500]), text(&h[..100]));
        match kind {
            b'L' => long_name = Some(text(data)),
            b'x' | b'g' => {}
            _ => {
                let name =
                    long_name.take().unwrap_or(if prefix.is_empty() { name } else { format!("{prefix}/{name}") });
                if kind == b'0' || kind == 0 {
                    files.push((name.trim_start_matches("./").to_string(), data.to_vec()));
                }
            }
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    files
}

/// Whether an ELF64 file has an interpreter or a dynamic section.
fn elf_is_dynamic(elf: &[u8]) -> bool {
    let bytes = |at: usize, n: usize| elf.get(at..at + n).expect("an ELF file long enough for its headers");
    assert_eq!(bytes(0, 5), b"\x7fELF\x02", "not an ELF64 file");
    let word = |at: usize, n: usize| bytes(at, n).iter().rev().fold(0usize, |v, &b| (v << 8) | b as usize);
    let (phoff, phentsize, phnum) = (word(0x20, 8), word(0x36, 2), word(0x38, 2));
    (0..phnum).any(|i| {
        let kind = word(phoff + i * phentsize, 4);
        kind == 2 || kind == 3 // PT_DYNAMIC, PT_INTERP
    })
}

#[test]
fn demo_image_has_no_shell_and_no_libc() {
    // What is on disk: the image's files, exported from a created (never started) container.
    let c = demo_created("files");
    let out = docker(&["export", &c.name]);
    assert!(out.status.success(), "docker export: {}", String::from_utf8_lossy(&out.stderr));
    let files = tar_files(&out.stdout);

    let ours: BTreeSet<&str> = BTreeSet::from([
        "app/sidecar-init",
        "app/egress-entrypoint.sh",
        "usr/local/bin/pipelock",
        "git-gate-entrypoint.sh",
        "usr/bin/python3",
        "standin",
    ]);
    // Docker adds .dockerenv and empty mount points (etc/hosts, dev/console...) to every container.
    let docker_own = |name: &str, data: &[u8]| {
        data.is_empty() && (name == ".dockerenv" || name.starts_with("etc/") || name.starts_with("dev/"))
    };
    let found: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for (name, data) in &files {
        assert!(ours.contains(name.as_str()) || docker_own(name, data), "unexpected file in the image: /{name}");
        if ours.contains(name.as_str()) {
            assert!(!elf_is_dynamic(data), "/{name} is dynamically linked");
        }
    }
    assert_eq!(found.intersection(&ours).count(), ours.len(), "files: {found:?}");
    assert!(!found.iter().any(|n| n.starts_with("bin/") || n.starts_with("lib")), "files: {found:?}");

    // And a shell cannot be run in it.
    let sh = docker(&["run", "--rm", "--label", &run_label(), "--entrypoint", "/bin/sh", &image(), "-c", "true"]);
    assert!(!sh.status.success(), "/bin/sh ran in the demo image");
}

// ---- start-up ---------------------------------------------------------------

#[test]
fn run_starts_all_four_with_prefixed_logs_on_the_real_ports() {
    let c = demo_run("start", &[], &[]);
    let logs = c.wait_listening(&SLOT_PORTS);
    let starts = started(&logs);
    let order: Vec<&str> = starts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(order, SLOTS, "`started` lines in slot order");
    for (slot, pid) in &starts {
        // The stand-in's own start line, prefixed by the init: its own
        // session and group, a child of PID 1, nothing blocked or ignored,
        // no descriptor but 0, 1 and 2.
        assert_line(
            &logs,
            &format!(
                "[{slot}] {slot} start pid={pid} ppid=1 pgid={pid} sid={pid} \
                 sigblk=0000000000000000 sigign=0000000000000000 fds=0,1,2"
            ),
        );
    }
    c.assert_ports_answer(&all_ports());
    assert!(c.running(), "the container keeps running");
    let took = c.stop();
    assert_eq!(c.exit_code(), 0, "exit code");
    assert!(took < QUICK_STOP, "docker stop took {took:?}");
}

// ---- signals ----------------------------------------------------------------

#[test]
fn rtmin_2_restarts_pipelock_and_leaves_the_others_alone() {
    let c = demo_run("rtmin2", &[], &[]);
    // Docker counts RTMIN from 34, the kernel's: RTMIN+2 is signal 36.
    assert_restarts_pipelock_alone(&c, "RTMIN+2", "SIGRTMIN+2");
    c.assert_ports_answer(&all_ports());
    c.stop();
    assert_eq!(c.exit_code(), 0, "the replaced run must not count");
}

#[test]
fn other_signals_are_logged_once_and_ignored() {
    let c = demo_run("usr2", &[], &[]);
    c.wait_listening(&SLOT_PORTS);
    c.kill("USR2");
    c.wait_line("sidecar-init: ignoring SIGUSR2");
    c.kill("USR2");
    c.kill("WINCH");
    c.wait_line("sidecar-init: ignoring SIGWINCH");
    assert!(c.running(), "the container keeps running");
    c.stop();
    let logs = c.logs();
    assert_eq!(count(&logs, |l| l == "sidecar-init: ignoring SIGUSR2"), 1, "SIGUSR2 logged once");
    let reached_a_daemon = |l: &str| l.ends_with(" SIGUSR2") || l.ends_with(" SIGWINCH");
    assert_eq!(count(&logs, |l| l.starts_with('[') && reached_a_daemon(l)), 0, "a daemon got USR2 or WINCH");
    assert_eq!(c.exit_code(), 0, "exit code");
}

#[test]
fn int_shuts_down_like_term() {
    let c = demo_run("int", &[], &[]);
    c.wait_listening(&SLOT_PORTS);
    c.kill("INT");
    let code = c.wait_exit();
    let logs = c.logs();
    assert_eq!(code, 0, "exit code");
    assert_line(&logs, "sidecar-init: shutting down (SIGINT); grace 8000 ms");
    let got_sigterm = count(&logs, |l| l.starts_with('[') && l.ends_with(" signal 15 SIGTERM"));
    assert_eq!(got_sigterm, 4, "daemons that got SIGTERM");
}

// ---- docker stop ------------------------------------------------------------

#[test]
fn stop_kills_a_daemon_that_ignores_term_at_the_grace() {
    let grace = Duration::from_millis(1000);
    let c = demo_run(
        "grace",
        &[],
        &[
            ("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", "1000"),
            ("CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE", "/standin git-gate --ignore-term --listen 9418"),
        ],
    );
    let logs = c.wait_listening(&SLOT_PORTS);
    let git_gate = pid_of(&logs, "git-gate");
    let took = c.stop();
    let logs = c.logs();
    eprintln!("docker stop with a stand-in that ignores SIGTERM, grace {grace:?}, took {took:?}");
    assert_line(&logs, "[git-gate] git-gate signal 15 SIGTERM");
    assert_line(&logs, &format!("sidecar-init: git-gate pid={git_gate} outlived the grace; SIGKILL to its group"));
    assert_line(&logs, &format!("sidecar-init: git-gate exited pid={git_gate} signal=SIGKILL"));
    // The init ended it, not Docker: Docker's kill leaves 137 and no last line.
    assert_line(&logs, "sidecar-init: exiting code=0");
    assert_eq!(c.exit_code(), 0, "exit code");
    assert!(took >= grace, "stopped after {took:?}, before the {grace:?} grace");
    assert!(took < grace + QUICK_STOP, "docker stop took {took:?}; Docker's own kill is at {DOCKER_STOP_TIMEOUT:?}");
}

#[test]
fn an_essential_slot_exiting_3_hands_over_to_dockers_on_failure_restart() {
    let c = demo_run(
        "essential",
        &["--restart", "on-failure"],
        &[
            ("CLAUDE_BOTTLE_SIDECAR_ESSENTIAL", "git-gate"),
            ("CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE", "/standin git-gate --exit 3 --after 500"),
        ],
    );
    // The init exits 3, Docker starts the container again (and again).
    let restarts = wait_until(PATIENCE, ASK_EVERY, "Docker to restart the container", || {
        let n: u32 = c.inspect("{{.RestartCount}}").parse().unwrap_or(0);
        (n > 0).then_some(n)
    });
    eprintln!("RestartCount {restarts}");
    let logs =
        c.wait_logs("the second run's egress", |logs| count(logs, |l| l.starts_with("[egress] egress start ")) >= 2);
    assert_line(&logs, "sidecar-init: essential git-gate is down; shutting down; grace 8000 ms");
    assert_line(&logs, "sidecar-init: exiting code=3");
    assert_line(&logs, "[egress] egress exiting on SIGTERM");
    // Stop the loop: the container's last exit was git-gate's 3.
    docker_ok(&["update", "--restart", "no", &c.name]);
    let code = c.wait_exit();
    assert_eq!(code, 3, "the container's exit code is the essential slot's");
}

// ---- CLAUDE_BOTTLE_SIDECAR_DAEMONS -------------------------------------------

#[test]
fn daemons_pipelock_runs_only_pipelock() {
    let c = demo_run("only", &[], &[("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "pipelock")]);
    c.wait_listening(&[("pipelock", 8888)]);
    c.assert_ports_answer(&[8888]);
    c.stop();
    let logs = c.logs();
    let slots: BTreeSet<String> = started(&logs).into_iter().map(|(s, _)| s).collect();
    assert_eq!(slots, BTreeSet::from(["pipelock".to_string()]), "started slots");
    for slot in ["egress", "git-gate", "supervise"] {
        assert_eq!(count(&logs, |l| l.starts_with(&format!("[{slot}]"))), 0, "lines of {slot}");
    }
    assert_eq!(c.exit_code(), 0, "exit code");
}

#[test]
fn daemons_empty_exits_0_at_once() {
    let start = Instant::now();
    let c = demo_run("none", &[], &[("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "")]);
    let code = c.wait_exit();
    let took = start.elapsed();
    let logs = c.logs();
    assert_eq!(code, 0, "exit code");
    assert!(took < QUICK_STOP, "took {took:?} from docker run to the exit");
    assert_line(&logs, "sidecar-init: no daemon selected (CLAUDE_BOTTLE_SIDECAR_DAEMONS=''); nothing to run, exiting");
    assert!(started(&logs).is_empty(), "nothing may start");
}

#[test]
fn daemons_unknown_name_exits_2_with_the_message() {
    let c = demo_run("bogus", &[], &[("CLAUDE_BOTTLE_SIDECAR_DAEMONS", "pipelock,bogus")]);
    let code = c.wait_exit();
    let logs = c.logs();
    assert_eq!(code, 2, "exit code");
    assert_line(
        &logs,
        "sidecar-init: CLAUDE_BOTTLE_SIDECAR_DAEMONS='pipelock,bogus' names no slot 'bogus'; \
         accepted: comma-separated names among egress, pipelock, git-gate, supervise",
    );
    assert!(started(&logs).is_empty(), "nothing may start");
}

// ---- pids limit ---------------------------------------------------------------

#[test]
fn a_fork_bomb_hits_the_pids_limit_and_the_init_still_stops_cleanly() {
    let c = demo_run(
        "forkbomb",
        &["--pids-limit", "40"],
        &[("CLAUDE_BOTTLE_SIDECAR_CMD_SUPERVISE", "/standin supervise --listen 9100 --fork-bomb")],
    );
    let logs =
        c.wait_logs("the fork bomb's end", |logs| logs.contains("[supervise] supervise fork-bomb stopped after "));
    let bomb = logs.lines().find(|l| l.contains("fork-bomb stopped after ")).expect("the line waited for");
    eprintln!("{bomb}");
    assert!(bomb.contains(": Resource temporarily unavailable"), "the pids limit did not stop it: {bomb}");
    c.wait_listening(&SLOT_PORTS);

    // The init is still up and still routes signals.
    assert!(c.running(), "the container keeps running");
    c.kill("HUP");
    c.wait_line("[egress] egress signal 1 SIGHUP");
    assert!(c.running(), "the container keeps running after SIGHUP");

    let took = c.stop();
    let logs = c.logs();
    eprintln!("docker stop at the pids limit took {took:?}");
    assert_eq!(c.exit_code(), 0, "exit code");
    assert_line(&logs, "sidecar-init: exiting code=0");
    assert!(took < QUICK_STOP, "docker stop took {took:?}");
}

// ---- control socket -------------------------------------------------------------

/// `docker exec <c> /app/sidecar-init ARGS`: exit code, stdout, stderr.
fn exec_client(c: &Container, args: &[&str]) -> (Option<i32>, String, String) {
    let mut full = vec!["exec", c.name.as_str(), "/app/sidecar-init"];
    full.extend_from_slice(args);
    let out = docker(&full);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn health(c: &Container) -> String {
    c.inspect("{{if .State.Health}}{{.State.Health.Status}}{{end}}")
}

fn wait_health(c: &Container, want: &str) {
    wait_until(PATIENCE, ASK_EVERY, &format!("{} to be {want}", c.name), || (health(c) == want).then_some(()));
}

#[test]
fn docker_exec_status_answers_from_the_scratch_image() {
    let c = demo_run("status", &[], &[]);
    let logs = c.wait_listening(&SLOT_PORTS);
    let (code, out, err) = exec_client(&c, &["status"]);
    assert_eq!((code, err.as_str()), (Some(0), ""), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].starts_with("bundle running uptime="), "{out}");
    for ((slot, _), line) in SLOT_PORTS.iter().zip(&lines[1..]) {
        let pid = pid_of(&logs, slot);
        assert!(line.starts_with(&format!("{slot} up pid={pid} uptime=")), "{line}");
    }
    // A usage error, and a signal by name.
    assert_eq!(exec_client(&c, &["restart", "proxy"]).0, Some(2));
    let (code, out, _) = exec_client(&c, &["signal", "egress", "HUP"]);
    assert_eq!(code, Some(0), "{out}");
    c.wait_line("[egress] egress signal 1 SIGHUP");
    c.stop();
    assert_eq!(c.exit_code(), 0, "exit code");
}

#[test]
fn health_goes_healthy_then_unhealthy_when_a_daemon_dies_then_healthy_after_restart() {
    let c = demo_run("health", &[], &[]);
    c.wait_listening(&SLOT_PORTS);
    wait_health(&c, "healthy");
    let (code, _, err) = exec_client(&c, &["signal", "git-gate", "KILL"]);
    assert_eq!(code, Some(0), "{err}");
    c.wait_logs("git-gate's death", |logs| logs.lines().any(|l| l.starts_with("sidecar-init: git-gate exited pid=")));
    wait_health(&c, "unhealthy");
    let (code, _, err) = exec_client(&c, &["health"]);
    assert_eq!((code, err.as_str()), (Some(1), "unhealthy: git-gate down\n"));
    let (code, out, err) = exec_client(&c, &["restart", "git-gate"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, "sidecar-init: restarting git-gate, which was down, (sidecar-init restart)\n");
    wait_health(&c, "healthy");
    c.stop();
    // The restarted git-gate's clean end is its slot's last run.
    assert_eq!(c.exit_code(), 0, "exit code");
}

// ---- least privilege ------------------------------------------------------------

/// The host pid of a slot's stand-in in the container: the child of the
/// container's init whose first argument is the slot's name. The scratch
/// image has no `cat` to `docker exec`: /proc is read from the host.
fn daemon_in(c: &Container, slot: &str) -> i32 {
    let init: i32 = c.inspect("{{.State.Pid}}").parse().expect("the container's pid");
    let argument = |pid: i32| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        cmdline.split(|&b| b == 0).nth(1).map(|a| String::from_utf8_lossy(a).into_owned())
    };
    let found = children_of(init).into_iter().find(|&pid| argument(pid).as_deref() == Some(slot));
    found.unwrap_or_else(|| panic!("no {slot} among the children of host pid {init}"))
}

#[test]
fn pipelock_runs_as_nobody_and_only_egress_gets_the_token() {
    let env = [
        ("CLAUDE_BOTTLE_SIDECAR_USER_PIPELOCK", "65534"),
        ("CLAUDE_BOTTLE_SIDECAR_PRIVATE_EGRESS", "EGRESS_TOKEN_*"),
        ("EGRESS_TOKEN_UPSTREAM", "s3cret"),
    ];
    let c = demo_run("privilege", &[], &env);
    c.wait_listening(&SLOT_PORTS);
    let (pipelock, egress) = (daemon_in(&c, "pipelock"), daemon_in(&c, "egress"));
    let field = |pid: i32, key: &str| {
        proc_status_field(pid, key).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert_eq!(field(pipelock, "Uid"), "65534 65534 65534 65534", "pipelock's uids");
    assert_eq!(field(pipelock, "Gid"), "65534 65534 65534 65534", "pipelock's gids");
    assert_eq!(field(pipelock, "Groups"), "65534", "pipelock's groups");
    assert_eq!(field(pipelock, "NoNewPrivs"), "1", "pipelock's no_new_privs");
    assert_eq!(field(egress, "Uid"), "0 0 0 0", "egress runs as the init");
    let environ = |pid: i32| {
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default()).into_owned()
    };
    assert!(environ(egress).split('\0').any(|v| v == "EGRESS_TOKEN_UPSTREAM=s3cret"), "egress has the token");
    assert!(!environ(pipelock).contains("EGRESS_TOKEN_UPSTREAM"), "pipelock lacks the token");
    // The root init still signals the unprivileged daemon's group.
    c.kill("USR1");
    c.wait_logs("a second pipelock", |logs| pids_of(logs, "pipelock").len() == 2);
    let took = c.stop();
    assert_eq!(c.exit_code(), 0, "exit code");
    assert!(took < QUICK_STOP, "docker stop took {took:?}");
    assert_line(&c.logs(), "[pipelock] pipelock exiting on SIGTERM");
}
