//! The init under test: how it is started ([`Setup`]), and the running init
//! with everything it writes ([`Init`]).

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::{
    children_of, command_var, cpu_ns, init_bin, proc_state, proc_status_field, quote, send, standin_bin, started, tail,
    wait_for, wait_until, Scratch, Start, CONTROL_VAR, PATIENCE, POLL_EVERY, SIGTERM, SLOTS,
};

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
                        into.lock().extend_from_slice(&buf[..n]);
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

    /// A capture of a pipe nobody reads: closed from the start.
    fn nothing() -> Arc<Capture> {
        let nothing = Capture::default();
        nothing.closed.store(true, Ordering::SeqCst);
        Arc::new(nothing)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // Poisoned only by a test that panicked while looking: the bytes are fine.
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

/// A status as a short text: `code 3` or `signal 9`.
pub fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => format!("{status}"),
    }
}

/// Who reads the init's stdout, and how.
enum StdoutReader {
    /// The test, as fast as it comes.
    Prompt,
    /// Nobody until `Init::unstall_stdout`.
    Stalled,
    /// 8 KiB at a time with a pause after each read.
    Slow,
    /// Nobody ever: the read end is closed at once.
    Gone,
    /// stdout and stderr are one pipe, read slowly.
    SharedWithStderr,
}

/// How to start the init: environment, mode, inherited oddities.
pub struct Setup {
    test: String,
    scratch: Scratch,
    init: PathBuf,
    standin: PathBuf,
    pid1: bool,
    env: Vec<(String, String)>,
    args: Vec<String>,
    hostile: bool,
    stdout: StdoutReader,
    /// A command the init is started through (it execs the init).
    wrapper: Vec<String>,
}

impl Setup {
    /// The init as PID 1 of a new PID namespace, with STANDIN_REPORT set to a
    /// fresh scratch directory and nothing else configured. `test` names the
    /// scratch directory and the init in failure output.
    pub fn new(test: &str) -> Setup {
        // Abstract socket names are per network namespace, which the inits
        // under test share: each gets its own control socket.
        static INITS: AtomicU32 = AtomicU32::new(0);
        let control = format!("@sidecar-init-test-{}-{}", std::process::id(), INITS.fetch_add(1, Ordering::Relaxed));
        let scratch = Scratch::new(test);
        Setup {
            test: test.to_string(),
            scratch,
            init: init_bin(),
            standin: standin_bin(),
            pid1: true,
            env: vec![(CONTROL_VAR.to_string(), control)],
            args: Vec::new(),
            hostile: false,
            stdout: StdoutReader::Prompt,
            wrapper: Vec::new(),
        }
    }

    /// The init runs as `uid`:`gid` with no supplementary group (through
    /// `setpriv`, which execs it: as PID 1 it is still PID 1), and the
    /// scratch directory is writable for it and its daemons.
    pub fn run_as(self, uid: u32, gid: u32) -> Self {
        let (uid, gid) = (format!("--reuid={uid}"), format!("--regid={gid}"));
        self.wrapped(&["setpriv", &uid, &gid, "--clear-groups", "--"]).writable_scratch()
    }

    /// The init is exec'd by this command line (`setpriv ... --`), which
    /// sets up what it inherits; as PID 1 it is still PID 1.
    pub fn wrapped(mut self, command: &[&str]) -> Self {
        self.wrapper = command.iter().map(|word| word.to_string()).collect();
        self
    }

    /// The scratch directory is writable for every uid (mode 0777), for
    /// daemons that do not run as root to write their reports.
    pub fn writable_scratch(self) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let path = &self.scratch.path;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
        self
    }

    /// The init's stdout is read 8 KiB at a time with a pause after each
    /// read: a slow log reader that does keep reading.
    pub fn slow_stdout(mut self) -> Self {
        self.stdout = StdoutReader::Slow;
        self
    }

    /// stdout and stderr are one pipe (`2>&1 | reader`), read slowly;
    /// everything is in `stdout()`.
    pub fn merged_output(mut self) -> Self {
        self.stdout = StdoutReader::SharedWithStderr;
        self
    }

    /// Nobody ever reads the init's stdout: its reader is closed at once,
    /// as when `| head` has exited.
    pub fn close_stdout(mut self) -> Self {
        self.stdout = StdoutReader::Gone;
        self
    }

    /// Nobody reads the init's stdout until `Init::unstall_stdout`: the
    /// pipe fills up, as behind a slow log driver.
    pub fn stall_stdout(mut self) -> Self {
        self.stdout = StdoutReader::Stalled;
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

    /// Starts the init through `command` (which must exec it, keeping the
    /// pid): `["prlimit", "--nofile=16:16"]`, `["setpriv", "--reuid=65534", ...]`.
    /// In PID 1 mode it runs between unshare and the init, so the init is
    /// still PID 1 of the new namespace.
    pub fn wrap(mut self, command: &[&str]) -> Self {
        self.wrapper = command.iter().map(|a| a.to_string()).collect();
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

    pub fn start(self) -> Init {
        let mut command = if self.pid1 {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc"]).args(&self.wrapper).arg(&self.init);
            c
        } else if let Some((wrapper, its_args)) = self.wrapper.split_first() {
            let mut c = Command::new(wrapper);
            c.args(its_args).arg(&self.init);
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
        let mut shared_reader: Option<std::fs::File> = None;
        if let StdoutReader::SharedWithStderr = self.stdout {
            let mut ends = [0i32; 2];
            // SAFETY: `ends` has room for both descriptors.
            if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                panic!("pipe2: {}", std::io::Error::last_os_error());
            }
            // SAFETY: fresh descriptors nothing else owns.
            let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
            let second = writer.try_clone().unwrap_or_else(|e| panic!("dup: {e}"));
            command.stdout(Stdio::from(writer)).stderr(Stdio::from(second));
            shared_reader = Some(std::fs::File::from(reader));
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
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot spawn the init: {e}"));
        drop(command); // the parent's copies of the shared pipe's write ends
        let child_pid = child.id() as i32;
        let stdout_open = Arc::new(AtomicBool::new(!matches!(self.stdout, StdoutReader::Stalled)));
        let (stdout, stderr) = match self.stdout {
            StdoutReader::SharedWithStderr => {
                let reader = shared_reader.expect("the shared pipe was made above");
                // Slow, so partial writes happen and could cut a line.
                let slow = Capture::start_paced(reader, Arc::clone(&stdout_open), 8 * 1024, Duration::from_millis(2));
                (slow, Capture::nothing())
            }
            _ => {
                let pipe = child.stdout.take().expect("stdout is piped");
                let stdout = match self.stdout {
                    StdoutReader::Slow => {
                        Capture::start_paced(pipe, Arc::clone(&stdout_open), 8 * 1024, Duration::from_millis(2))
                    }
                    StdoutReader::Gone => {
                        drop(pipe);
                        Capture::nothing()
                    }
                    // Prompt, or Stalled until `stdout_open` is set.
                    _ => Capture::start_gated(pipe, Arc::clone(&stdout_open)),
                };
                (stdout, Capture::start(child.stderr.take().expect("stderr is piped")))
            }
        };
        let control = self.env.iter().find(|(k, _)| k == CONTROL_VAR).map(|(_, v)| v.clone()).unwrap_or_default();
        let mut init = Init {
            control,
            test: self.test,
            host_pid: Some(child_pid),
            child: Mutex::new(child),
            pid1: self.pid1,
            stdout,
            stderr,
            scratch: self.scratch,
            exit: Mutex::new(None),
            stdout_open,
        };
        if init.pid1 {
            // unshare --fork: the init is unshare's only child. None: over
            // before we saw it (a configuration error, say); no pid to signal.
            init.host_pid = wait_for("unshare's child, the init", || {
                if !init.running() {
                    return Some(None);
                }
                children_of(child_pid).first().map(|&pid| Some(pid))
            });
        }
        init
    }
}

/// A running (or finished) init and everything it wrote. When a test fails
/// with it, its drop prints what the init wrote and how it ended; either
/// way the drop kills whatever of it is left.
pub struct Init {
    test: String,
    /// Its CLAUDE_BOTTLE_SIDECAR_CONTROL, for clients (`Init::client`).
    pub control: String,
    /// The test's child: unshare in PID 1 mode, the init itself otherwise.
    child: Mutex<Child>,
    /// The init's pid as the test sees it; None when it exited before its
    /// pid was seen.
    host_pid: Option<i32>,
    pid1: bool,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
    pub scratch: Scratch,
    exit: Mutex<Option<Exit>>,
    stdout_open: Arc<AtomicBool>,
}

impl Init {
    /// The init's pid as the test sees it (in PID 1 mode, unshare's child).
    pub fn pid(&self) -> i32 {
        self.host_pid.expect("the init exited before its pid was seen")
    }

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

    /// Everything a slot's standin(s) reported (`<scratch>/<slot>.log`); empty
    /// before the first report line.
    pub fn report(&self, slot: &str) -> String {
        std::fs::read_to_string(self.scratch.path.join(format!("{slot}.log"))).unwrap_or_default()
    }

    /// Every start line in a slot's report, one per run.
    pub fn starts(&self, slot: &str) -> Vec<Start> {
        self.report(slot).lines().filter_map(|l| Start::parse(slot, l)).collect()
    }

    pub fn assert_stderr_has(&self, text: &str) {
        assert!(self.stderr().contains(text), "the init's stderr lacks {text:?}");
    }

    pub fn assert_stderr_lacks(&self, text: &str) {
        assert!(!self.stderr().contains(text), "the init's stderr has {text:?}");
    }

    pub fn assert_report_has(&self, slot: &str, text: &str) {
        assert!(self.report(slot).contains(text), "{slot}'s report lacks {text:?}");
    }

    pub fn assert_report_lacks(&self, slot: &str, text: &str) {
        assert!(!self.report(slot).contains(text), "{slot}'s report has {text:?}");
    }

    /// What a failure should show: the init's stderr, the end of its stdout,
    /// every report and how the init ended.
    fn context(&self) -> String {
        let mut text = format!("=== the init of test `{}` when the test failed\n", self.test);
        text.push_str(&format!("--- init stderr:\n{}", tail(&self.stderr(), 6000)));
        text.push_str(&format!("--- init stdout (end):\n{}", tail(&self.stdout(), 2000)));
        if let Ok(dir) = std::fs::read_dir(&self.scratch.path) {
            let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            files.sort();
            for file in files {
                let body = std::fs::read_to_string(&file).unwrap_or_default();
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                text.push_str(&format!("--- {name}:\n{}", tail(&body, 2000)));
            }
        }
        match self.exit_status() {
            Some(status) => text.push_str(&format!("--- exited: {status}\n")),
            None => text.push_str("--- still running\n"),
        }
        text
    }

    /// Polls `probe` on this init until it gives a value.
    pub fn wait_for<T>(&self, what: &str, mut probe: impl FnMut(&Init) -> Option<T>) -> T {
        wait_for(what, || probe(self))
    }

    /// Waits until the init's stderr has a line containing `needle`; returns it.
    pub fn wait_stderr(&self, needle: &str) -> String {
        self.wait_for(&format!("stderr line with {needle:?}"), |init| {
            init.stderr().lines().find(|l| l.contains(needle)).map(str::to_string)
        })
    }

    /// Waits until a slot's report has a line containing `needle`; returns it.
    pub fn wait_report(&self, slot: &str, needle: &str) -> String {
        self.wait_for(&format!("{slot}'s report line with {needle:?}"), |init| {
            init.report(slot).lines().find(|l| l.contains(needle)).map(str::to_string)
        })
    }

    /// Waits until a slot's standin has started `runs` times; returns the starts.
    pub fn wait_starts(&self, slot: &str, runs: usize) -> Vec<Start> {
        self.wait_for(&format!("{runs} start line(s) of {slot}"), |init| {
            let starts = init.starts(slot);
            (starts.len() >= runs).then_some(starts)
        })
    }

    /// Waits for the first start line of each slot; returns them in order.
    pub fn wait_started(&self, slots: &[&str]) -> Vec<Start> {
        let all: Vec<Start> = slots.iter().map(|slot| self.wait_starts(slot, 1).remove(0)).collect();
        // The init logs `started` right after the spawn returns, maybe after the child's line.
        self.wait_for("a `started` line for every slot", |init| {
            (started(&init.stderr()).len() >= slots.len()).then_some(())
        });
        all
    }

    /// Sends `sig` to the init (its host pid).
    pub fn signal(&self, sig: i32) {
        send(self.pid(), sig)
    }

    /// Sends SIGTERM (a stop) and waits for the init to exit.
    pub fn stop(&self) -> Exit {
        self.signal(SIGTERM);
        self.wait_exit()
    }

    /// Sends SIGTERM and expects the init to exit with `code`.
    pub fn stop_expecting(&self, code: i32) -> Exit {
        let exit = self.stop();
        assert_eq!(exit.code(), Some(code), "the init's exit code after SIGTERM");
        exit
    }

    /// Waits for the init to exit on its own with `code`.
    pub fn expect_exit(&self, code: i32) -> Exit {
        let exit = self.wait_exit();
        assert_eq!(exit.code(), Some(code), "the init's exit code");
        exit
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
    pub fn wait_exit(&self) -> Exit {
        let exit = self.wait_exit_within(PATIENCE);
        wait_for("the init's stdout and stderr to close", || {
            (self.stdout.closed.load(Ordering::SeqCst) && self.stderr.closed.load(Ordering::SeqCst)).then_some(())
        });
        exit
    }

    /// Waits until the init's start-up output has settled, then watches it
    /// for one idle second and returns its context switches and CPU time
    /// (nanoseconds) over that second: both 0 for an init that never wakes
    /// (a spinning init switches no context, so CPU time is checked too).
    pub fn idle_second(&self) -> ([u64; 2], u64) {
        let switches = || {
            ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"].map(|key| {
                let value = proc_status_field(self.pid(), key).unwrap_or_else(|| panic!("the init's {key}"));
                value.parse::<u64>().unwrap_or_else(|e| panic!("the init's {key} {value:?}: {e}"))
            })
        };
        let settled = self.wait_for("start-up output to settle", |_| {
            let before = switches();
            thread::sleep(Duration::from_millis(200));
            (switches() == before).then_some(before)
        });
        let cpu_before = cpu_ns(self.pid());
        thread::sleep(Duration::from_millis(1000));
        let (after, cpu_after) = (switches(), cpu_ns(self.pid()));
        (
            [after[0].saturating_sub(settled[0]), after[1].saturating_sub(settled[1])],
            cpu_after.saturating_sub(cpu_before),
        )
    }

    /// Waits for the init to exit, not for its output.
    pub fn wait_exit_within(&self, patience: Duration) -> Exit {
        wait_until(patience, POLL_EVERY, "the init to exit", || if self.running() { None } else { self.exit() })
    }

    /// Children of the init right now (host pids).
    pub fn children(&self) -> Vec<i32> {
        self.host_pid.map(children_of).unwrap_or_default()
    }

    /// The children of the init that are zombies.
    pub fn zombie_children(&self) -> Vec<i32> {
        self.children().into_iter().filter(|&c| proc_state(c) == Some('Z')).collect()
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        if thread::panicking() {
            eprint!("{}", self.context());
        }
        // A stalled reader would otherwise wait for ever on its thread.
        self.unstall_stdout();
        // A test that failed half-way must not leave processes behind.
        let Some(pid) = self.host_pid.filter(|_| self.running()) else { return };
        if !self.pid1 {
            // The daemons lead their own groups: take them down first.
            for kid in children_of(pid) {
                // SAFETY: kill takes plain integers.
                unsafe {
                    libc::kill(-kid, libc::SIGKILL);
                    libc::kill(kid, libc::SIGKILL);
                }
            }
        }
        // As PID 1 of its namespace, its death takes the whole namespace with it.
        // SAFETY: kill takes plain integers.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let mut child = self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Runs the init to completion with no signal from the test (configuration
/// errors, --help, nothing selected...).
pub fn run_to_exit(setup: Setup) -> (Init, Exit) {
    let init = setup.start();
    let exit = init.wait_exit();
    (init, exit)
}
