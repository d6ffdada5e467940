//! The production-like image under a real Docker engine: sidecar-init as PID 1
//! of Dockerfile.sidecars with the real daemons in its four slots, driven the
//! way Docker and the bundle's operators drive it.
//!
//! The image is `make prodlike-image`: the production recipe built offline,
//! with local stand-ins for the three registry images (bundle/offline/): real
//! mitmdump 11.1.3 (egress) with the bundle's entrypoint and addon, real git
//! daemon with Debian's gitleaks (git-gate), the real supervise MCP server,
//! and a Python stand-in for pipelock. `make prodlike-test` builds it and runs
//! these tests; they need an engine (`tools/docker-engine start`). With no
//! engine or no image every test fails; none is skipped.
//!
//! Environment: `SIDECAR_PRODLIKE_IMAGE` (default
//! `claude-bottle-sidecars:prodlike`), `DOCKER` (the client, default `docker`).
//! Every request goes to the container's own address on Docker's bridge.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, SystemTime};

use support::docker::{require_engine_and_image, Container, ASK_EVERY};
use support::http::{connect, exchange, fetch, request, Response};
use support::{started, wait_until, Scratch, SLOTS};

const DEFAULT_IMAGE: &str = "claude-bottle-sidecars:prodlike";
/// How long a start (mitmdump takes a second or two), a log line or an
/// answer may take on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(60);
/// "Well inside Docker's 10 s" for a stop of daemons that obey SIGTERM.
const QUICK_STOP: Duration = Duration::from_secs(5);

const EGRESS: u16 = 9099;
const PIPELOCK: u16 = 8888;
const GIT_GATE: u16 = 9418;
const SUPERVISE: u16 = 9100;

/// Names that resolve to the container's own loopback (`--add-host`), so a
/// request through egress reaches supervise on 9100 without leaving the
/// container. Only the allow-list tells them apart.
const ALLOWED: &str = "allowed.test";
const LATER: &str = "later.test";

fn image() -> String {
    std::env::var("SIDECAR_PRODLIKE_IMAGE").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_IMAGE.into())
}

/// A bundle container, started, with `allowlist` (when given) as egress's
/// list from the start and the test host names mapped to loopback.
fn bundle(tag: &str, env: &[(&str, &str)], allowlist: Option<&str>) -> Container {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| require_engine_and_image(&image(), "make prodlike-image"));
    let hosts = [format!("{ALLOWED}:127.0.0.1"), format!("{LATER}:127.0.0.1")];
    let options = ["--add-host", &hosts[0], "--add-host", &hosts[1]];
    let c = Container::create(&image(), tag, &options, env, PATIENCE);
    if let Some(list) = allowlist {
        set_allowlist(&c, list);
    }
    c.start();
    c
}

/// Replaces egress's allow-list file (running container or not).
fn set_allowlist(c: &Container, list: &str) {
    let scratch = Scratch::new("prodlike-allowlist");
    let file = scratch.path.join("allowlist.txt");
    std::fs::write(&file, list).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    c.copy_in(&file, "/etc/egress/allowlist.txt");
}

/// Waits until every slot was started and answers on its port: pipelock's
/// and supervise's /health, a request through egress (any answer), git
/// daemon's TCP port. Returns the logs then.
fn wait_all_up(c: &Container) -> String {
    let ip = c.ip();
    let logs = c.wait_logs("four `started` lines", |logs| started(logs).len() >= 4);
    let order: Vec<String> = started(&logs).into_iter().map(|(s, _)| s).collect();
    assert_eq!(order, SLOTS, "`started` lines in slot order");
    for port in [PIPELOCK, SUPERVISE] {
        wait_until(PATIENCE, ASK_EVERY, &format!("GET /health on {port}"), || {
            fetch(&ip, port, &request("GET", "/health", &ip, "Connection: close\r\n", None))
                .ok()
                .filter(|r| r.status == 200)
        });
    }
    wait_until(PATIENCE, ASK_EVERY, "egress to answer a proxied request", || {
        fetch(&ip, EGRESS, &proxied_get(ALLOWED, "Connection: close\r\n")).ok()
    });
    wait_until(PATIENCE, ASK_EVERY, "git-gate to accept a connection", || connect(&ip, GIT_GATE).ok());
    c.logs()
}

/// `GET http://HOST:9100/health` in proxy form: through egress, to supervise.
fn proxied_get(host: &str, extra: &str) -> String {
    request("GET", &format!("http://{host}:{SUPERVISE}/health"), &format!("{host}:{SUPERVISE}"), extra, None)
}

fn proxied(c: &Container, host: &str) -> Response {
    fetch(&c.ip(), EGRESS, &proxied_get(host, "Connection: close\r\n"))
        .unwrap_or_else(|e| panic!("GET http://{host}:{SUPERVISE}/health through egress: {e}"))
}

/// The one pid a slot was started with.
fn pid_of(c: &Container, logs: &str, slot: &str) -> i32 {
    match c.pids_of(logs, slot)[..] {
        [pid] => pid,
        ref pids => panic!("{slot} started {} times: {pids:?}", pids.len()),
    }
}

/// The command line of a process in the container, words joined by blanks.
fn cmdline(c: &Container, pid: i32) -> String {
    c.exec(&["cat", &format!("/proc/{pid}/cmdline")]).replace('\0', " ").trim().to_string()
}

fn count(logs: &str, pred: impl Fn(&str) -> bool) -> usize {
    logs.lines().filter(|l| pred(l)).count()
}

fn has_line(logs: &str, line: &str) -> bool {
    logs.lines().any(|l| l == line)
}

fn exited_lines<'a>(logs: &'a str, slot: &str) -> Vec<&'a str> {
    let prefix = format!("sidecar-init: {slot} exited ");
    logs.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// Stops the container with `docker stop` and checks it went as it should
/// with daemons that obey SIGTERM: quickly, every daemon ending cleanly by
/// itself (no SIGKILL at the grace), exit code 0. Returns the final logs.
fn stop_cleanly(c: &Container) -> String {
    let took = c.stop();
    let logs = c.logs();
    eprintln!("docker stop of the prod-like bundle took {took:?}");
    assert!(took < QUICK_STOP, "docker stop took {took:?}");
    assert_eq!(c.exit_code(), 0, "exit code");
    assert!(has_line(&logs, "sidecar-init: exiting code=0"), "no `exiting code=0` line");
    assert_eq!(count(&logs, |l| l.contains("outlived the grace")), 0, "a daemon needed SIGKILL");
    logs
}

/// A string that looks like a GitHub token to gitleaks and pipelock's DLP,
/// made at run time so that no such string is in this repository.
fn fake_github_token() -> String {
    let mut z = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("a clock after 1970").as_nanos() as u64;
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let body: String = (0..36)
        .map(|_| {
            z = z.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ALNUM[(z >> 33) as usize % ALNUM.len()] as char
        })
        .collect();
    format!("{}_{body}", "ghp")
}

// ---- the four daemons -----------------------------------------------------

#[test]
fn all_four_answer_with_prefixed_logs_and_docker_stop_exits_0_quickly() {
    let c = bundle("up", &[("GIT_GATE_REPOS", "demo")], Some(&format!("{ALLOWED}\n")));
    let logs = wait_all_up(&c);
    let ip = c.ip();

    // pipelock: health, a blocklisted host, a credential in a URL.
    let health =
        fetch(&ip, PIPELOCK, &request("GET", "/health", &ip, "Connection: close\r\n", None)).expect("pipelock");
    assert_eq!(health.status, 200, "pipelock /health: {}", health.text());
    assert!(health.text().contains("healthy"), "pipelock /health: {}", health.text());
    let paste = "http://dump.pastebin.com/raw";
    let blocked = fetch(&ip, PIPELOCK, &request("GET", paste, "dump.pastebin.com", "Connection: close\r\n", None))
        .expect("pipelock, forward proxy");
    assert_eq!(blocked.status, 403, "pipelock let {paste} through: {}", blocked.text());
    let leak = format!("/fetch?url=http://{ALLOWED}:{SUPERVISE}/health?token={}", fake_github_token());
    let dlp =
        fetch(&ip, PIPELOCK, &request("GET", &leak, &ip, "Connection: close\r\n", None)).expect("pipelock, fetch");
    assert_eq!(dlp.status, 403, "pipelock let a token through: {}", dlp.text());
    assert!(dlp.text().contains("DLP"), "pipelock's reason: {}", dlp.text());

    // supervise: MCP over HTTP.
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"test","version":"0"}}}"#;
    let answer =
        fetch(&ip, SUPERVISE, &request("POST", "/mcp", &ip, "Connection: close\r\n", Some(init))).expect("mcp");
    assert_eq!(answer.status, 200, "initialize: {}", answer.text());
    assert!(answer.text().contains(r#""serverInfo": {"name": "supervise""#), "initialize: {}", answer.text());
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let tools = fetch(&ip, SUPERVISE, &request("POST", "/mcp", &ip, "Connection: close\r\n", Some(list))).expect("mcp");
    assert!(tools.text().contains("bundle_status"), "tools/list: {}", tools.text());

    // egress: a proxied request to an allowed host reaches supervise.
    let mut stream = connect(&ip, EGRESS).expect("egress");
    let client_port = stream.local_addr().expect("local address").port();
    let through = exchange(&mut stream, &proxied_get(ALLOWED, "Connection: close\r\n"), false).expect("egress");
    drop(stream);
    assert_eq!(through.status, 200, "through egress: {}", through.text());
    assert!(through.text().contains(r#""server": "supervise""#), "through egress: {}", through.text());

    // git-gate: the repository named in GIT_GATE_REPOS is served.
    let url = format!("git://{ip}:{GIT_GATE}/demo.git");
    let ls = git(None, &["ls-remote", &url]);
    assert!(ls.status.success(), "git ls-remote {url}: {}", String::from_utf8_lossy(&ls.stderr));

    // Python's output comes while it runs, not at exit (PYTHONUNBUFFERED).
    let env = c.inspect("{{range .Config.Env}}{{println .}}{{end}}");
    assert!(env.lines().any(|l| l == "PYTHONUNBUFFERED=1"), "image environment: {env}");
    c.wait_logs("supervise's line for the MCP request", |logs| {
        logs.lines().any(|l| l.starts_with("[supervise] ") && l.contains(r#""POST /mcp HTTP/1.1" 200"#))
    });
    // mitmdump's last line: with stdout block-buffered it would wait for
    // more output, and nothing else goes through egress now.
    let disconnect = format!(":{client_port}] client disconnect");
    c.wait_logs("mitmdump's `client disconnect` line", |logs| {
        logs.lines().any(|l| l.starts_with("[egress] ") && l.ends_with(&disconnect))
    });
    c.wait_logs("pipelock's line for the DLP block", |logs| {
        logs.lines().any(|l| l.starts_with("[pipelock] ") && l.contains("block fetch") && l.contains("DLP"))
    });

    let logs_before_stop = logs;
    let logs = stop_cleanly(&c);
    for slot in SLOTS {
        let prefix = format!("[{slot}] ");
        assert!(count(&logs, |l| l.starts_with(&prefix)) > 0, "no `{prefix}` line in the logs");
        let pid = pid_of(&c, &logs_before_stop, slot);
        let exits = exited_lines(&logs, slot);
        assert_eq!(exits.len(), 1, "{slot}'s exits: {exits:?}");
        // git daemon dies of the SIGTERM; the others exit 0 on it.
        let clean = [format!("pid={pid} code=0"), format!("pid={pid} signal=SIGTERM")];
        assert!(clean.iter().any(|end| exits[0].ends_with(end.as_str())), "{slot}: {}", exits[0]);
    }
}

// ---- egress: the allow-list and SIGHUP ------------------------------------

#[test]
fn egress_allows_and_blocks_by_its_list_and_hup_reloads_it_in_the_same_mitmdump() {
    let c = bundle("egress", &[], Some(&format!("# test list\n{ALLOWED}\n")));
    let logs = wait_all_up(&c);
    let egress = pid_of(&c, &logs, "egress");
    assert!(cmdline(&c, egress).contains("mitmdump"), "egress's pid {egress} is {}", cmdline(&c, egress));

    assert_eq!(proxied(&c, ALLOWED).status, 200, "{ALLOWED} is on the list");
    let blocked = proxied(&c, LATER);
    assert_eq!(blocked.status, 403, "{LATER} is not on the list: {}", blocked.text());
    assert_eq!(blocked.header("X-Egress-Blocked"), Some(LATER), "egress's own 403");
    let mut tunnel = connect(&c.ip(), EGRESS).expect("egress");
    let connect_req = request("CONNECT", &format!("{LATER}:443"), &format!("{LATER}:443"), "", None);
    let refused = exchange(&mut tunnel, &connect_req, false).expect("CONNECT through egress");
    assert_eq!(refused.status, 403, "CONNECT to {LATER}: {}", refused.text());

    // Edit the list, SIGHUP the container: the same mitmdump now allows LATER.
    set_allowlist(&c, &format!("{ALLOWED}\n{LATER}\n"));
    c.kill("HUP");
    c.wait_logs("the first reload", |logs| {
        count(logs, |l| l.contains("egress: allow-list") && l.contains("(SIGHUP)")) == 1
    });
    assert_eq!(proxied(&c, LATER).status, 200, "{LATER} after the reload");

    // And a host taken off the list is blocked again.
    set_allowlist(&c, &format!("*.{LATER}\n{LATER}\n"));
    c.kill("HUP");
    c.wait_logs("the second reload", |logs| {
        count(logs, |l| l.contains("egress: allow-list") && l.contains("(SIGHUP)")) == 2
    });
    assert_eq!(proxied(&c, ALLOWED).status, 403, "{ALLOWED} after it left the list");
    assert_eq!(proxied(&c, LATER).status, 200, "{LATER} is still on the list");

    let logs = c.logs();
    assert_eq!(c.pids_of(&logs, "egress"), [egress], "egress started again");
    assert!(exited_lines(&logs, "egress").is_empty(), "egress exited: {:?}", exited_lines(&logs, "egress"));
    let forwarded = format!("sidecar-init: SIGHUP forwarded to egress pid={egress}");
    assert_eq!(count(&logs, |l| l == forwarded), 2, "`{forwarded}` lines");
    assert!(cmdline(&c, egress).contains("mitmdump"), "egress's pid {egress} is {}", cmdline(&c, egress));
    stop_cleanly(&c);
}

#[test]
fn hup_while_mitmdump_starts_does_not_kill_it() {
    // Stock mitmdump dies of SIGHUP (exit 129). The entrypoint ignores it
    // until the addon's handler is in place; SIGHUPs from the moment egress
    // is started until it listens must not end it.
    let c = bundle("early-hup", &[], Some(&format!("{ALLOWED}\n")));
    let logs = c.wait_logs("egress started", |logs| started(logs).iter().any(|(s, _)| s == "egress"));
    let egress = pid_of(&c, &logs, "egress");
    let mut sent = 0;
    let logs = wait_until(PATIENCE, Duration::ZERO, "egress's SIGHUP handler", || {
        c.kill("HUP");
        sent += 1;
        std::thread::sleep(Duration::from_millis(50));
        let logs = c.logs();
        let exits = exited_lines(&logs, "egress");
        assert!(exits.is_empty(), "egress died of an early SIGHUP: {exits:?}");
        logs.contains("egress: SIGHUP reloads").then_some(logs)
    });
    c.kill("HUP");
    eprintln!("{sent} SIGHUPs sent while mitmdump was starting");
    assert!(exited_lines(&logs, "egress").is_empty(), "egress exited: {:?}", exited_lines(&logs, "egress"));
    wait_all_up(&c);
    assert_eq!(proxied(&c, ALLOWED).status, 200, "egress after the early SIGHUPs");
    let logs = c.logs();
    assert_eq!(c.pids_of(&logs, "egress"), [egress], "egress started again");
    assert!(exited_lines(&logs, "egress").is_empty(), "egress exited: {:?}", exited_lines(&logs, "egress"));
    stop_cleanly(&c);
}

// ---- SIGUSR1: pipelock alone, the others keep their connections ---------------

#[test]
fn usr1_restarts_pipelock_alone_and_open_connections_to_the_others_survive() {
    let c = bundle("usr1", &[], Some(&format!("{ALLOWED}\n")));
    let logs = wait_all_up(&c);
    let ip = c.ip();
    let pids: Vec<i32> = SLOTS.iter().map(|slot| pid_of(&c, &logs, slot)).collect();
    let [egress, pipelock, git_gate, supervise] = pids[..] else { unreachable!() };

    // Keep-alive connections: one to supervise (the agent's MCP client), one
    // through egress.
    let to_supervise = request("GET", "/health", &ip, "", None);
    let mut mcp = connect(&ip, SUPERVISE).expect("supervise");
    let first = exchange(&mut mcp, &to_supervise, false).expect("supervise, first request");
    assert_eq!(first.status, 200, "supervise: {}", first.text());
    assert!(first.text().contains(&format!(r#""pid": {supervise}"#)), "supervise's pid: {}", first.text());
    let mut proxy = connect(&ip, EGRESS).expect("egress");
    let first = exchange(&mut proxy, &proxied_get(ALLOWED, ""), false).expect("through egress, first request");
    assert_eq!(first.status, 200, "through egress: {}", first.text());

    c.kill("USR1");
    let logs = c.wait_logs("a second pipelock", |logs| c.pids_of(logs, "pipelock").len() == 2);
    let new = c.pids_of(&logs, "pipelock")[1];
    assert_ne!(new, pipelock, "pipelock's new pid");
    assert!(has_line(&logs, &format!("sidecar-init: restarting pipelock pid={pipelock} (SIGUSR1)")), "restart line");
    wait_until(PATIENCE, ASK_EVERY, "the new pipelock's /health", || {
        fetch(&ip, PIPELOCK, &request("GET", "/health", &ip, "Connection: close\r\n", None))
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(cmdline(&c, new).contains("pipelock run --config /etc/pipelock.yaml"), "{}", cmdline(&c, new));

    // The same connections still work, served by the same processes.
    let second =
        exchange(&mut mcp, &to_supervise, false).expect("supervise, on the connection held across the restart");
    assert_eq!(second.status, 200, "supervise: {}", second.text());
    assert!(second.text().contains(&format!(r#""pid": {supervise}"#)), "supervise's pid: {}", second.text());
    let second = exchange(&mut proxy, &proxied_get(ALLOWED, ""), false)
        .expect("egress, on the connection held across the restart");
    assert_eq!(second.status, 200, "through egress: {}", second.text());

    let logs = c.logs();
    for (slot, pid) in [("egress", egress), ("git-gate", git_gate), ("supervise", supervise)] {
        assert_eq!(c.pids_of(&logs, slot), [pid], "{slot} started again");
        assert!(exited_lines(&logs, slot).is_empty(), "{slot} exited: {:?}", exited_lines(&logs, slot));
    }
    assert_eq!(exited_lines(&logs, "pipelock"), [format!("sidecar-init: pipelock exited pid={pipelock} code=0")]);
    drop((mcp, proxy));
    stop_cleanly(&c);
}

// ---- git-gate ---------------------------------------------------------------

/// Runs the host's git with no user or system configuration.
fn git(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
        .args([
            "-c",
            "user.name=prodlike test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {}: {e}", args.join(" ")))
}

fn git_ok(dir: Option<&Path>, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(out.status.success(), "git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn git_clone_and_push_through_the_gate_and_a_secret_is_refused() {
    let c = bundle("git", &[("GIT_GATE_REPOS", "demo")], None);
    wait_all_up(&c);
    let url = format!("git://{}:{GIT_GATE}/demo.git", c.ip());
    let scratch = Scratch::new("prodlike-git");
    let work = scratch.path.join("work");
    git_ok(None, &["clone", &url, &work.to_string_lossy()]);

    std::fs::write(work.join("README"), "clean\n").expect("write README");
    git_ok(Some(&work), &["add", "README"]);
    git_ok(Some(&work), &["commit", "-m", "clean"]);
    git_ok(Some(&work), &["push", "origin", "HEAD:refs/heads/main"]);

    std::fs::write(work.join("config.env"), format!("GITHUB_TOKEN={}\n", fake_github_token())).expect("write");
    git_ok(Some(&work), &["add", "config.env"]);
    git_ok(Some(&work), &["commit", "-m", "leak"]);
    let push = git(Some(&work), &["push", "origin", "HEAD:refs/heads/main"]);
    let said = String::from_utf8_lossy(&push.stderr);
    assert!(!push.status.success(), "a push with a token went through: {said}");
    assert!(said.contains("pre-receive hook declined"), "git push said: {said}");
    assert!(said.contains("gitleaks found a secret"), "git push said: {said}");

    // A fresh clone has the clean commit only.
    let again = scratch.path.join("again");
    git_ok(None, &["clone", &url, &again.to_string_lossy()]);
    let history = git_ok(Some(&again), &["log", "--format=%s"]);
    assert_eq!(history.lines().collect::<Vec<_>>(), ["clean"], "history on the gate");
    stop_cleanly(&c);
}
