//! Test support: spawning sidecar-init (as PID 1 of a new PID namespace via
//! `unshare`, or directly), collecting its output while it runs, polling for
//! conditions with generous deadlines, and parsing the standin's lines.
//!
//! Failures are values, not panics: the musl target is built with
//! `-C force-unwind-tables=no` and `--no-eh-frame-hdr` (.cargo/config.toml),
//! so a panic cannot unwind ("failed to initiate panic") and aborts the whole
//! test binary instead of failing one test, leaving its inits running. Every
//! test returns [`Outcome`] and checks with [`ensure!`] / [`ensure_eq!`]; the
//! support code avoids panicking calls (`unwrap`, indexing) for the same reason.

#![allow(dead_code)] // not every test uses every helper

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long any awaited condition may take before the test fails. Generous:
/// the suite runs on a noisy 2-core machine and on fresh CI machines.
pub const PATIENCE: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(10);

/// The four slots, in start order.
pub const SLOTS: [&str; 4] = ["egress", "pipelock", "git-gate", "supervise"];

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGUSR2: i32 = 12;
pub const SIGTERM: i32 = 15;

// ---------------------------------------------------------------- failures

/// A test failure; its Debug is the plain text, so `Error: ...` reads well.
pub struct Failure(pub String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Failure {
    fn from(text: String) -> Self {
        Failure(text)
    }
}

impl From<&str> for Failure {
    fn from(text: &str) -> Self {
        Failure(text.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure(format!("I/O error: {error}"))
    }
}

pub type Outcome = Result<(), Failure>;

/// `ensure!(condition, "format", args...)`: fail the test (return Err) unless true.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::support::Failure(format!(
                "{}:{}: {}", file!(), line!(), format!($($arg)+)
            )));
        }
    };
}

/// `ensure_eq!(left, right, "format", args...)`: fail unless equal, showing both.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($arg:tt)+) => {
        // A match, as in std's assert_eq, keeps temporaries alive.
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err($crate::support::Failure(format!(
                        "{}:{}: {}\n  left: {:?}\n right: {:?}", file!(), line!(), format!($($arg)+), left, right
                    )));
                }
            }
        }
    };
}

/// The last `max` bytes of `text`, on a char boundary, for failure messages.
pub fn tail(text: &str, max: usize) -> &str {
    let mut from = text.len().saturating_sub(max);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    text.get(from..).unwrap_or("")
}

/// Polls `probe` every few milliseconds until it gives a value or `PATIENCE`
/// runs out; `context` describes the situation for the failure message.
pub fn poll<T>(what: &str, context: impl Fn() -> String, mut probe: impl FnMut() -> Option<T>) -> Result<T, Failure> {
    poll_for(PATIENCE, what, context, &mut probe)
}

pub fn poll_for<T>(
    patience: Duration,
    what: &str,
    context: impl Fn() -> String,
    probe: &mut impl FnMut() -> Option<T>,
) -> Result<T, Failure> {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(Failure(format!("gave up after {patience:?} waiting for {what}\n{}", context())));
        }
        thread::sleep(POLL_EVERY);
    }
}

// ---------------------------------------------------------------- binaries

fn binary(var: &str, name: &str) -> Result<PathBuf, Failure> {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/x86_64-unknown-linux-musl/release").join(name)
    });
    if path.is_file() {
        Ok(path)
    } else {
        // Not a panic (see the module comment): the message must be seen.
        Err(Failure(format!("{} not found (${var}): run `make integration`", path.display())))
    }
}

pub fn init_bin() -> Result<PathBuf, Failure> {
    binary("SIDECAR_INIT", "sidecar-init")
}

pub fn standin_bin() -> Result<PathBuf, Failure> {
    binary("STANDIN_BIN", "standin")
}

/// One word for the init's command-line parser (POSIX single quotes).
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `CLAUDE_BOTTLE_SIDECAR_CMD_<SLOT>` for a slot name.
pub fn command_var(slot: &str) -> String {
    format!("CLAUDE_BOTTLE_SIDECAR_CMD_{}", slot.to_uppercase().replace('-', "_"))
}

// ---------------------------------------------------------------- scratch dirs

/// A fresh directory per test under the system temp dir, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(test: &str) -> Result<Scratch, Failure> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sidecar-init-{test}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Scratch { path })
    }

    /// Names of the files in the directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------- /proc

/// Children of `pid` (all its threads), from /proc.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut kids = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.filter_map(|t| t.ok()) {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                kids.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    kids.sort_unstable();
    kids.dedup();
    kids
}

/// The state letter of a process (R, S, Z, ...), None once it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ..." where comm may hold anything: the state follows the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    after.trim_start().chars().next()
}

/// A field of /proc/<pid>/status, e.g. "SigIgn".
pub fn proc_status_field(pid: i32, key: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).map(|v| v.trim().to_string())
}

/// Whether the process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

pub fn send(pid: i32, sig: i32) -> Outcome {
    if pid <= 0 {
        // kill(0 or -1, ...) would reach the test runner itself.
        return Err(Failure(format!("refusing to send signal {sig} to pid {pid}")));
    }
    // SAFETY: kill takes plain integers.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(Failure(format!("kill({pid}, {sig}): {}", std::io::Error::last_os_error())))
    }
}

// ---------------------------------------------------------------- standin lines

/// The fields of a standin's `NAME start key=value ...` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub sigblk: String,
    pub sigign: String,
    pub fds: String,
}

impl Start {
    /// Parses `NAME start pid=.. ppid=..` (for `name`), None for any other line.
    pub fn parse(name: &str, line: &str) -> Option<Start> {
        let rest = line.strip_prefix(name)?.strip_prefix(" start ")?;
        let fields: BTreeMap<&str, &str> = rest.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
        let num = |key: &str| fields.get(key)?.parse::<i32>().ok();
        let text = |key: &str| fields.get(key).map(|v| v.to_string()).unwrap_or_default();
        Some(Start {
            pid: num("pid")?,
            ppid: num("ppid")?,
            pgid: num("pgid").unwrap_or(0),
            sid: num("sid").unwrap_or(0),
            sigblk: text("sigblk"),
            sigign: text("sigign"),
            fds: text("fds"),
        })
    }
}

/// `(slot, pid)` of every `sidecar-init: <slot> started pid=N` line, in order.
pub fn started(stderr: &str) -> Vec<(String, i32)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (slot, pid) = l.strip_prefix("sidecar-init: ")?.split_once(" started pid=")?;
            Some((slot.to_string(), pid.trim().parse().ok()?))
        })
        .collect()
}

/// 32-bit FNV-1a of the daemon name (as standin's `name_hash`).
pub fn name_hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// Byte j of flood line k's payload (as standin's `payload_byte`).
pub fn payload_byte(name_hash: u32, k: u64, j: usize) -> u8 {
    let v = k.wrapping_mul(31).wrapping_add((j as u64).wrapping_mul(7)).wrapping_add(name_hash as u64);
    b'a' + (v % 26) as u8
}

/// Checks one flood line `NAME:<tag><k>:<len>:<payload>` (tag "" or "err:")
/// and returns its k.
pub fn check_flood_line(name: &str, tag: &str, line: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("{why}: {:?}", line.get(..line.len().min(120)).unwrap_or(line));
    let rest = line.strip_prefix(name).and_then(|r| r.strip_prefix(':')).and_then(|r| r.strip_prefix(tag));
    let rest = rest.ok_or_else(|| bad("not a flood line"))?;
    let mut parts = rest.splitn(3, ':');
    let k: u64 = parts.next().and_then(|k| k.parse().ok()).ok_or_else(|| bad("bad k"))?;
    let len: usize = parts.next().and_then(|l| l.parse().ok()).ok_or_else(|| bad("bad len"))?;
    let payload = parts.next().ok_or_else(|| bad("no payload"))?.as_bytes();
    if payload.len() != len {
        return Err(bad(&format!("payload of {} bytes, header says {len}", payload.len())));
    }
    let hash = name_hash(name);
    if let Some(j) = (0..len).find(|&j| payload.get(j) != Some(&payload_byte(hash, k, j))) {
        return Err(bad(&format!("payload byte {j} is wrong")));
    }
    Ok(k)
}

// ---------------------------------------------------------------- the init

/// A growing byte buffer filled by a reader thread.
#[derive(Default)]
struct Capture {
    bytes: Mutex<Vec<u8>>,
    closed: AtomicBool,
}

impl Capture {
    fn start(from: impl Read + Send + 'static) -> Arc<Capture> {
        Capture::start_gated(from, Arc::new(AtomicBool::new(true)))
    }

    /// A reader that reads nothing until `open` is set: a stalled log reader.
    fn start_gated(from: impl Read + Send + 'static, open: Arc<AtomicBool>) -> Arc<Capture> {
        Capture::start_paced(from, open, 64 * 1024, Duration::ZERO)
    }

    /// Reads at most `chunk` bytes, then sleeps `pause`: a slow log reader.
    fn start_paced(
        mut from: impl Read + Send + 'static,
        open: Arc<AtomicBool>,
        chunk: usize,
        pause: Duration,
    ) -> Arc<Capture> {
        let capture = Arc::new(Capture::default());
        let into = Arc::clone(&capture);
        thread::spawn(move || {
            while !open.load(Ordering::SeqCst) {
                thread::sleep(POLL_EVERY);
            }
            let mut buf = vec![0u8; chunk];
            loop {
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        into.lock().extend_from_slice(buf.get(..n).unwrap_or(&[]));
                        thread::sleep(pause);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            into.closed.store(true, Ordering::SeqCst);
        });
        capture
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.bytes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }
}

/// How the init (or unshare, which passes the init's status through) ended.
#[derive(Clone, Copy, Debug)]
pub struct Exit {
    pub status: ExitStatus,
    /// When the exit was noticed (within a poll period of the real exit).
    pub at: Instant,
}

impl Exit {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// How to start the init: environment, mode, inherited oddities.
pub struct Setup {
    scratch: Scratch,
    init: PathBuf,
    standin: PathBuf,
    pid1: bool,
    env: Vec<(String, String)>,
    args: Vec<String>,
    hostile: bool,
    stdout_open: Arc<AtomicBool>,
    stdout_gone: bool,
    slow_stdout: bool,
    merged: bool,
}

impl Setup {
    /// The init as PID 1 of a new PID namespace, with STANDIN_REPORT set to a
    /// fresh scratch directory and nothing else configured.
    pub fn new(test: &str) -> Result<Setup, Failure> {
        Ok(Setup {
            scratch: Scratch::new(test)?,
            init: init_bin()?,
            standin: standin_bin()?,
            pid1: true,
            env: Vec::new(),
            args: Vec::new(),
            hostile: false,
            stdout_open: Arc::new(AtomicBool::new(true)),
            stdout_gone: false,
            slow_stdout: false,
            merged: false,
        })
    }

    /// The init's stdout is read 8 KiB at a time with a pause after each
    /// read: a slow log reader that does keep reading.
    pub fn slow_stdout(mut self) -> Self {
        self.slow_stdout = true;
        self
    }

    /// stdout and stderr are one pipe (`2>&1 | reader`), read slowly;
    /// everything is in `stdout()`.
    pub fn merged_output(mut self) -> Self {
        self.merged = true;
        self
    }

    /// Nobody ever reads the init's stdout: its reader is closed at once,
    /// as when `| head` has exited.
    pub fn close_stdout(mut self) -> Self {
        self.stdout_gone = true;
        self
    }

    /// Nobody reads the init's stdout until `Init::unstall_stdout`: the
    /// pipe fills up, as behind a slow log driver.
    pub fn stall_stdout(mut self) -> Self {
        self.stdout_open = Arc::new(AtomicBool::new(false));
        self
    }

    /// Runs the init directly as a child of the test: not PID 1.
    pub fn not_pid1(mut self) -> Self {
        self.pid1 = false;
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn daemons(self, value: &str) -> Self {
        self.env("CLAUDE_BOTTLE_SIDECAR_DAEMONS", value)
    }

    pub fn grace_ms(self, ms: u64) -> Self {
        self.env("CLAUDE_BOTTLE_SIDECAR_GRACE_MS", &ms.to_string())
    }

    /// The slot's command: a raw command line for the init to split.
    pub fn command(self, slot: &str, line: &str) -> Self {
        self.env(&command_var(slot), line)
    }

    /// The slot runs `standin <slot> <options...>`.
    pub fn standin(self, slot: &str, options: &[&str]) -> Self {
        let mut line = format!("{} {}", quote(&self.standin.to_string_lossy()), quote(slot));
        for option in options {
            line.push(' ');
            line.push_str(&quote(option));
        }
        self.command(slot, &line)
    }

    /// Every slot runs a plain standin.
    pub fn all_standins(mut self) -> Self {
        for slot in SLOTS {
            self = self.standin(slot, &[]);
        }
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The init starts with SIGPIPE and SIGHUP ignored, SIGUSR2 and SIGALRM
    /// blocked, fd 7 open without close-on-exec, and fd 0 closed.
    pub fn hostile_inheritance(mut self) -> Self {
        self.hostile = true;
        self
    }

    pub fn scratch_path(&self) -> &Path {
        &self.scratch.path
    }

    pub fn start(self) -> Result<Init, Failure> {
        let mut merged_reader: Option<std::fs::File> = None;
        let mut command = if self.pid1 {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc"]).arg(&self.init);
            c
        } else {
            Command::new(&self.init)
        };
        command
            .args(&self.args)
            .env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("STANDIN_REPORT", &self.scratch.path)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.merged {
            let mut ends = [0i32; 2];
            // SAFETY: `ends` has room for both descriptors.
            if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(Failure("pipe2 failed".into()));
            }
            // SAFETY: fresh descriptors nothing else owns.
            let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
            let second = writer.try_clone().map_err(|e| Failure(format!("dup: {e}")))?;
            command.stdout(Stdio::from(writer)).stderr(Stdio::from(second));
            merged_reader = Some(std::fs::File::from(reader));
        }
        if self.hostile {
            // SAFETY: only async-signal-safe system calls between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                    libc::signal(libc::SIGHUP, libc::SIG_IGN);
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGUSR2);
                    libc::sigaddset(&mut set, libc::SIGALRM);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                    // fd 0 is /dev/null; dup2's copy has no close-on-exec.
                    if libc::dup2(0, 7) != 7 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // And no stdin at all: a pipe of the init's must not land on fd 0.
                    libc::close(0);
                    Ok(())
                });
            }
        }
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| Failure(format!("cannot spawn the init: {e}")))?;
        drop(command);
        let nothing = || {
            let nothing = Capture::default();
            nothing.closed.store(true, Ordering::SeqCst);
            Arc::new(nothing)
        };
        if let Some(reader) = merged_reader {
            // Slow, so partial writes happen and could cut a line.
            let stdout =
                Capture::start_paced(reader, Arc::new(AtomicBool::new(true)), 8 * 1024, Duration::from_millis(2));
            return self.into_init(child, stdout, nothing(), started);
        }
        let stdout_pipe = child.stdout.take().ok_or("no stdout pipe")?;
        let stdout = if self.slow_stdout {
            Capture::start_paced(stdout_pipe, Arc::clone(&self.stdout_open), 8 * 1024, Duration::from_millis(2))
        } else if self.stdout_gone {
            drop(stdout_pipe);
            let nothing = Capture::default();
            nothing.closed.store(true, Ordering::SeqCst);
            Arc::new(nothing)
        } else {
            Capture::start_gated(stdout_pipe, Arc::clone(&self.stdout_open))
        };
        let stderr = Capture::start(child.stderr.take().ok_or("no stderr pipe")?);
        self.into_init(child, stdout, stderr, started)
    }

    fn into_init(
        self,
        child: Child,
        stdout: Arc<Capture>,
        stderr: Arc<Capture>,
        started: Instant,
    ) -> Result<Init, Failure> {
        let mut init = Init {
            host_pid: child.id() as i32,
            child: Mutex::new(child),
            pid1: self.pid1,
            stdout,
            stderr,
            scratch: self.scratch,
            started,
            exit: Mutex::new(None),
            stdout_open: self.stdout_open,
        };
        if init.pid1 {
            // unshare --fork: the init is unshare's only child.
            let unshare = init.host_pid;
            let mut probe = || {
                if !init.running() {
                    return Some(None);
                }
                children_of(unshare).first().map(|&pid| Some(pid))
            };
            // None: over before we saw it (a configuration error, say); no pid to signal.
            init.host_pid = poll_for(PATIENCE, "unshare's child, the init", String::new, &mut probe)?.unwrap_or(0);
        }
        Ok(init)
    }
}

/// A running (or finished) init and everything it wrote.
pub struct Init {
    child: Mutex<Child>,
    /// The init's pid as the test sees it (in PID 1 mode, unshare's child).
    pub host_pid: i32,
    pid1: bool,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
    pub scratch: Scratch,
    pub started: Instant,
    exit: Mutex<Option<Exit>>,
    stdout_open: Arc<AtomicBool>,
}

impl Init {
    /// Starts reading the init's stdout (see `Setup::stall_stdout`).
    pub fn unstall_stdout(&self) {
        self.stdout_open.store(true, Ordering::SeqCst);
    }

    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Runs `f` on the raw stdout bytes without copying them (for floods).
    pub fn with_stdout<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        f(&self.stdout.lock())
    }

    pub fn with_stderr<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        f(&self.stderr.lock())
    }

    /// Everything a slot's standin(s) reported (`<scratch>/<slot>.log`).
    pub fn report(&self, slot: &str) -> String {
        std::fs::read_to_string(self.scratch.path.join(format!("{slot}.log"))).unwrap_or_default()
    }

    /// Every start line in a slot's report, one per run.
    pub fn starts(&self, slot: &str) -> Vec<Start> {
        self.report(slot).lines().filter_map(|l| Start::parse(slot, l)).collect()
    }

    /// What a failure message should show: the init's stderr, the end of its
    /// stdout and every report.
    pub fn context(&self) -> String {
        let mut text = format!("--- init stderr:\n{}", tail(&self.stderr(), 6000));
        text.push_str(&format!("--- init stdout (end):\n{}", tail(&self.stdout(), 2000)));
        for file in self.scratch.files() {
            let body = std::fs::read_to_string(self.scratch.path.join(&file)).unwrap_or_default();
            text.push_str(&format!("--- {file}:\n{}", tail(&body, 2000)));
        }
        match self.exit() {
            Some(exit) => text.push_str(&format!("--- exited: {}\n", exit.status)),
            None => text.push_str("--- still running\n"),
        }
        text
    }

    /// Polls `probe` on this init; the failure shows the init's context.
    pub fn wait_for<T>(&self, what: &str, probe: impl FnMut(&Init) -> Option<T>) -> Result<T, Failure> {
        let mut probe = probe;
        poll_for(PATIENCE, what, || self.context(), &mut || probe(self))
    }

    /// Waits until the init's stderr has a line containing `needle`; returns it.
    pub fn wait_stderr(&self, needle: &str) -> Result<String, Failure> {
        self.wait_for(&format!("stderr line with {needle:?}"), |init| {
            init.stderr().lines().find(|l| l.contains(needle)).map(str::to_string)
        })
    }

    /// Waits until a slot's report has a line containing `needle`; returns it.
    pub fn wait_report(&self, slot: &str, needle: &str) -> Result<String, Failure> {
        self.wait_for(&format!("{slot}'s report line with {needle:?}"), |init| {
            init.report(slot).lines().find(|l| l.contains(needle)).map(str::to_string)
        })
    }

    /// Waits until a slot's standin has started `runs` times; returns the starts.
    pub fn wait_starts(&self, slot: &str, runs: usize) -> Result<Vec<Start>, Failure> {
        self.wait_for(&format!("{runs} start line(s) of {slot}"), |init| {
            let starts = init.starts(slot);
            (starts.len() >= runs).then_some(starts)
        })
    }

    /// Waits for the first start line of each slot; returns them in order.
    pub fn wait_started(&self, slots: &[&str]) -> Result<Vec<Start>, Failure> {
        let mut all = Vec::new();
        for slot in slots {
            let starts = self.wait_starts(slot, 1)?;
            all.extend(starts.into_iter().next());
        }
        // The init logs `started` right after the spawn returns, maybe after the child's line.
        self.wait_for("a `started` line for every slot", |init| {
            (started(&init.stderr()).len() >= slots.len()).then_some(())
        })?;
        Ok(all)
    }

    /// Sends `sig` to the init (its host pid).
    pub fn signal(&self, sig: i32) -> Outcome {
        send(self.host_pid, sig)
    }

    fn exit(&self) -> Option<Exit> {
        *self.exit.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the init is still running (checks without waiting).
    pub fn running(&self) -> bool {
        let mut exit = self.exit.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if exit.is_some() {
            return false;
        }
        let mut child = self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match child.try_wait() {
            Ok(Some(status)) => {
                *exit = Some(Exit { status, at: Instant::now() });
                false
            }
            _ => true,
        }
    }

    /// The exit status once the init has exited (checks without waiting).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.running();
        self.exit().map(|e| e.status)
    }

    /// Waits for the init to exit and for its output pipes to close.
    pub fn wait_exit(&self) -> Result<Exit, Failure> {
        let exit = self.wait_exit_within(PATIENCE)?;
        let (out, err) = (Arc::clone(&self.stdout), Arc::clone(&self.stderr));
        poll(
            "the init's stdout and stderr to close",
            || self.context(),
            || (out.closed.load(Ordering::SeqCst) && err.closed.load(Ordering::SeqCst)).then_some(()),
        )?;
        Ok(exit)
    }

    pub fn wait_exit_within(&self, patience: Duration) -> Result<Exit, Failure> {
        let deadline = Instant::now() + patience;
        loop {
            if !self.running() {
                if let Some(exit) = self.exit() {
                    return Ok(exit);
                }
            }
            if Instant::now() >= deadline {
                return Err(Failure(format!("the init did not exit within {patience:?}\n{}", self.context())));
            }
            thread::sleep(POLL_EVERY);
        }
    }

    /// Children of the init right now (host pids).
    pub fn children(&self) -> Vec<i32> {
        if self.host_pid <= 0 {
            return Vec::new();
        }
        children_of(self.host_pid)
    }

    /// The children of the init that are zombies.
    pub fn zombie_children(&self) -> Vec<i32> {
        self.children().into_iter().filter(|&c| proc_state(c) == Some('Z')).collect()
    }
}

impl Drop for Init {
    /// A test that failed half-way must not leave processes behind.
    fn drop(&mut self) {
        if !self.running() || self.host_pid <= 0 {
            return;
        }
        if !self.pid1 {
            // The daemons lead their own groups: take them down first.
            for kid in children_of(self.host_pid) {
                // SAFETY: kill takes plain integers.
                unsafe {
                    libc::kill(-kid, libc::SIGKILL);
                    libc::kill(kid, libc::SIGKILL);
                }
            }
        }
        // As PID 1 of its namespace, its death takes the whole namespace with it.
        // SAFETY: kill takes plain integers.
        unsafe { libc::kill(self.host_pid, libc::SIGKILL) };
        let mut child = self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Runs the init to completion with no signal from the test (configuration
/// errors, --help, nothing selected...).
pub fn run_to_exit(setup: Setup) -> Result<(Init, Exit), Failure> {
    let init = setup.start()?;
    let exit = init.wait_exit()?;
    Ok((init, exit))
}

/// A signal's death as the status unshare passes through, for messages.
pub fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => format!("{status}"),
    }
}
