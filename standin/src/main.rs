//! standin: a stand-in daemon for sidecar-init's integration tests.
//!
//! Usage: `standin NAME [OPTIONS...]`. Every report line is `NAME <event>`,
//! written to stdout with one write(2) and, when `STANDIN_REPORT=<dir>` is
//! set, appended to `<dir>/NAME.log` first (opened and closed per line), so a
//! line seen on stdout is already in the file.
//!
//! Flood stream (`--flood N`, `--flood-stderr N`): line k (0..N) is
//! `NAME:<k>:<len>:<payload>\n` on stdout, `NAME:err:<k>:<len>:<payload>\n` on
//! stderr. `len` is in 0..=max_len (read it from the line); payload byte j is
//!     b'a' + ((k*31 + j*7 + name_hash) % 26)        (see `payload_byte`)
//! where name_hash is 32-bit FNV-1a of NAME's bytes (see `name_hash`).
//! The stream is cut into writes of pseudo-random sizes 1..=chunk bytes.
//!
//! This is not PID 1, but it runs in a `FROM scratch` image: static musl, no
//! files but /proc. `#![no_main]` keeps Rust's runtime from setting SIGPIPE to
//! SIG_IGN before `main`, which would falsify the `sigign=` of the start line.
#![no_main]

use std::ffi::{c_char, c_int, CStr};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Payload byte j of flood line k; copy this into tests to check a line.
pub fn payload_byte(name_hash: u32, k: u64, j: usize) -> u8 {
    let v = k.wrapping_mul(31).wrapping_add((j as u64).wrapping_mul(7)).wrapping_add(name_hash as u64);
    b'a' + (v % 26) as u8
}

/// 32-bit FNV-1a of the daemon name: the per-name offset in `payload_byte`.
pub fn name_hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// splitmix64 step: deterministic line lengths and chunk sizes, no deps.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[rustfmt::skip]
const SIG_NAMES: [&str; 32] = [
    "SIG0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
];

/// Real-time signals are named from this binary's libc SIGRTMIN (35 on musl,
/// what a musl-built test calls `libc::SIGRTMIN()`); 32..34 are libc-reserved.
fn sig_name(sig: i32) -> String {
    let rtmin = libc::SIGRTMIN();
    match sig {
        0..=31 => SIG_NAMES[sig as usize].to_string(),
        s if s == rtmin => "SIGRTMIN".to_string(),
        s if s > rtmin && s <= 64 => format!("SIGRTMIN+{}", s - rtmin),
        s => format!("SIG{s}"),
    }
}

/// Kernel signal mask (64 bits). Raw syscalls take it as is; musl's sigset
/// API refuses 32..34, and we want those caught too rather than fatal.
fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Every signal the standin reports. Not CHLD (our own children would be
/// noise), not the job-control stops, not the synchronous fault signals.
fn caught_mask() -> u64 {
    #[rustfmt::skip]
    let std_sigs = [
        libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2,
        libc::SIGPIPE, libc::SIGALRM, libc::SIGTERM, libc::SIGSTKFLT, libc::SIGCONT,
        libc::SIGURG, libc::SIGXCPU, libc::SIGXFSZ, libc::SIGVTALRM, libc::SIGPROF,
        libc::SIGWINCH, libc::SIGIO, libc::SIGPWR,
    ];
    let mut m = std_sigs.iter().fold(0, |m, &s| m | bit(s));
    for s in 32..=64 {
        m |= bit(s);
    }
    m
}

fn set_mask(how: c_int, mask: u64) {
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, how, &mask as *const u64, 0usize, 8usize);
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn err_text(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// Forked helpers must not hold the daemon's pipes or sockets open.
fn close_fds_from(first: c_int) {
    let r = unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
    if r != 0 {
        for fd in first..1024 {
            unsafe { libc::close(fd) };
        }
    }
}

/// Write everything, looping on partial writes; waits out a non-blocking fd.
fn write_all(fd: c_int, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf = &buf[n as usize..];
            continue;
        }
        match errno() {
            libc::EINTR => {}
            libc::EAGAIN => {
                let mut p = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
                unsafe { libc::poll(&mut p, 1, -1) };
            }
            e => return Err(e),
        }
    }
    Ok(())
}

/// Once stdout fails (EPIPE, closed) we stop writing to it: SIGPIPE is blocked
/// and reported, and each report of it would otherwise raise another one.
static STDOUT_BROKEN: AtomicBool = AtomicBool::new(false);

fn write_stdout(buf: &[u8]) {
    if !STDOUT_BROKEN.load(Ordering::Relaxed) && write_all(1, buf).is_err() {
        STDOUT_BROKEN.store(true, Ordering::Relaxed);
    }
}

/// Where report lines go: `prefix` starts each line; the stray uses
/// `NAME-stray` but the same `NAME.log` file.
#[derive(Clone)]
struct Reporter {
    prefix: String,
    log_path: Option<PathBuf>,
}

impl Reporter {
    fn line(&self, event: &str) {
        let text = format!("{} {}\n", self.prefix, event);
        if let Some(path) = &self.log_path {
            // std opens with O_CLOEXEC; append+create = O_APPEND|O_CREAT.
            if let Ok(mut f) = OpenOptions::new().append(true).create(true).open(path) {
                let _ = f.write_all(text.as_bytes());
            }
        }
        write_stdout(text.as_bytes());
    }
}

#[derive(Clone, Copy)]
enum Ending {
    Exit(i32),
    Die(i32),
}

#[derive(Default)]
struct Opts {
    name: String,
    ignore_term: bool,
    term_exit: Option<i32>,
    ending: Option<Ending>, // --exit / --die: the last one given wins
    after_ms: u64,
    orphans: u64,
    stray: bool,
    flood: u64,
    flood_stderr: u64,
    max_len: usize,
    chunk: usize,
    no_newline: Option<String>,
    listen: Option<u16>,
    fork_bomb: bool,
    nonblock_stdio: bool,
    delay_ms: u64,
}

fn num<T: std::str::FromStr>(opt: &str, v: String, ok: impl Fn(&T) -> bool) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(n) if ok(&n) => Ok(n),
        _ => Err(format!("bad value for {opt}: {v}")),
    }
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let name = match args.first() {
        Some(n) if !n.is_empty() && !n.starts_with('-') => n.clone(),
        _ => return Err("usage: standin NAME [OPTIONS...]".into()),
    };
    let mut o = Opts { name, max_len: 200, chunk: 1000, ..Opts::default() };
    let mut it = args[1..].iter();
    while let Some(opt) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("option {opt} needs a value"));
        match opt.as_str() {
            "--ignore-term" => o.ignore_term = true,
            "--term-exit" => o.term_exit = Some(num(opt, value()?, |c| (0..=255).contains(c))?),
            "--exit" => o.ending = Some(Ending::Exit(num(opt, value()?, |c| (0..=255).contains(c))?)),
            "--die" => o.ending = Some(Ending::Die(num(opt, value()?, |s| (1..=64).contains(s))?)),
            "--after" => o.after_ms = num(opt, value()?, |_| true)?,
            "--orphans" => o.orphans = num(opt, value()?, |_| true)?,
            "--stray" => o.stray = true,
            "--flood" => o.flood = num(opt, value()?, |_| true)?,
            "--flood-stderr" => o.flood_stderr = num(opt, value()?, |_| true)?,
            "--max-len" => o.max_len = num(opt, value()?, |l| *l <= 1 << 24)?,
            "--chunk" => o.chunk = num(opt, value()?, |c| *c >= 1)?,
            "--no-newline" => o.no_newline = Some(value()?),
            "--listen" => o.listen = Some(num(opt, value()?, |_| true)?),
            "--fork-bomb" => o.fork_bomb = true,
            "--nonblock-stdio" => o.nonblock_stdio = true,
            "--delay" => o.delay_ms = num(opt, value()?, |_| true)?,
            _ => return Err(format!("unknown option {opt}")),
        }
    }
    Ok(o)
}

/// Open fds from /proc/self/fd, minus the directory's own fd.
fn list_fds() -> String {
    let mut fds = Vec::new();
    unsafe {
        let dir = libc::opendir(c"/proc/self/fd".as_ptr());
        if dir.is_null() {
            return "?".into();
        }
        let own = libc::dirfd(dir);
        loop {
            let ent = libc::readdir(dir);
            if ent.is_null() {
                break;
            }
            let name = CStr::from_ptr((*ent).d_name.as_ptr());
            if let Some(fd) = name.to_str().ok().and_then(|s| s.parse::<c_int>().ok()) {
                if fd != own {
                    fds.push(fd);
                }
            }
        }
        libc::closedir(dir);
    }
    fds.sort_unstable();
    fds.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(",")
}

/// (SigBlk, SigIgn) hex strings from /proc/self/status.
fn sig_masks() -> (String, String) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().to_string()).unwrap_or_else(|| "?".into())
    };
    (field("SigBlk:"), field("SigIgn:"))
}

fn start_line() -> String {
    let fds = list_fds(); // first: nothing of ours is open yet
    let (blk, ign) = sig_masks();
    let (pid, ppid, pgid, sid) = unsafe { (libc::getpid(), libc::getppid(), libc::getpgrp(), libc::getsid(0)) };
    format!("start pid={pid} ppid={ppid} pgid={pgid} sid={sid} sigblk={blk} sigign={ign} fds={fds}")
}

/// Die by `sig` itself so the parent sees WIFSIGNALED. Falls back to
/// exit(128+sig) if the signal's default action does not kill.
fn kill_self(sig: i32) -> ! {
    // Raw rt_sigaction: musl's sigaction refuses 32..34. Layout: handler,
    // flags, restorer, mask; handler 0 = SIG_DFL.
    let act: [u64; 4] = [0; 4];
    unsafe {
        libc::syscall(libc::SYS_rt_sigaction, sig, act.as_ptr(), 0usize, 8usize);
        set_mask(libc::SIG_UNBLOCK, bit(sig));
        libc::kill(libc::getpid(), sig);
        libc::_exit(128 + sig)
    }
}

fn exit_code(r: &Reporter, code: i32) -> ! {
    r.line(&format!("exiting code={code}"));
    std::process::exit(code)
}

fn listen_tcp(r: &Reporter, port: u16) -> c_int {
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0);
        let one: c_int = 1;
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let ok = fd >= 0
            && libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&one as *const c_int).cast(),
                std::mem::size_of::<c_int>() as libc::socklen_t,
            ) == 0
            && libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len) == 0
            && libc::listen(fd, 128) == 0
            // Port 0 asks the kernel for one: report the one we got.
            && libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len) == 0;
        if !ok {
            r.line(&format!("listen failed port={port}: {}", err_text(errno())));
            exit_code(r, 1);
        }
        r.line(&format!("listening port={}", u16::from_be(addr.sin_port)));
        fd
    }
}

/// Each orphan: a child forks a grandchild and exits at once; the grandchild
/// (re-parented to the init) sleeps 20 ms, silent, holding no fds, and exits.
fn make_orphans(r: &Reporter, n: u64) {
    const BATCH: u64 = 50;
    let (mut done, mut idle_rounds, mut last_err) = (0u64, 0u32, 0i32);
    while done < n {
        let mut kids = Vec::new();
        for _ in 0..BATCH.min(n - done) {
            match unsafe { libc::fork() } {
                -1 => {
                    last_err = errno();
                    break;
                }
                0 => unsafe {
                    let g = libc::fork();
                    if g == 0 {
                        set_mask(libc::SIG_SETMASK, 0);
                        close_fds_from(0);
                        sleep_ms(20);
                        libc::_exit(0);
                    }
                    libc::_exit(if g < 0 { 1 } else { 0 })
                },
                pid => kids.push(pid),
            }
        }
        let before = done;
        for pid in kids {
            let mut st = 0;
            while unsafe { libc::waitpid(pid, &mut st, 0) } < 0 && errno() == libc::EINTR {}
            if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
                done += 1;
            } else {
                last_err = libc::EAGAIN; // the middle child could not fork
            }
        }
        if done == before {
            // Fork limit reached: let earlier orphans finish, then retry.
            idle_rounds += 1;
            if idle_rounds > 200 {
                r.line(&format!("orphans failed after {done} of {n}: {}", err_text(last_err)));
                return;
            }
            sleep_ms(5);
        } else {
            idle_rounds = 0;
        }
    }
    r.line(&format!("orphans {n} done"));
}

/// A long-lived orphan in its own session, so neither the daemon's group
/// kill nor its death ends it; only SIGKILL does (or the init's sweep).
/// Returns once the stray's start line has been written (sync pipe EOF).
fn spawn_stray(r: &Reporter, caught: u64) {
    let mut sync = [0 as c_int; 2];
    unsafe {
        if libc::pipe2(sync.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            r.line(&format!("stray failed: {}", err_text(errno())));
            return;
        }
        let middle = libc::fork();
        if middle == 0 {
            let middle_pid = libc::getpid();
            let stray = libc::fork();
            if stray == 0 {
                stray_main(r, caught, middle_pid, sync[1]);
            }
            libc::_exit(if stray < 0 { 1 } else { 0 });
        }
        libc::close(sync[1]);
        if middle < 0 {
            r.line(&format!("stray failed: {}", err_text(errno())));
        } else {
            let mut st = 0;
            while libc::waitpid(middle, &mut st, 0) < 0 && errno() == libc::EINTR {}
            if !libc::WIFEXITED(st) || libc::WEXITSTATUS(st) != 0 {
                r.line("stray failed: fork in the middle child failed");
            }
            let mut b = [0u8; 1];
            while libc::read(sync[0], b.as_mut_ptr().cast(), 1) < 0 && errno() == libc::EINTR {}
        }
        libc::close(sync[0]);
    }
}

fn stray_main(parent: &Reporter, caught: u64, middle_pid: libc::pid_t, sync_w: c_int) -> ! {
    let r = Reporter { prefix: format!("{}-stray", parent.prefix), ..parent.clone() };
    unsafe {
        libc::setsid();
        // Keep stdio (it may break later: writes are then dropped) and the
        // sync pipe; the caught signals stay blocked, as inherited.
        if sync_w > 3 {
            libc::syscall(libc::SYS_close_range, 3u32, (sync_w - 1) as u32, 0u32);
        }
        libc::syscall(libc::SYS_close_range, (sync_w + 1) as u32, u32::MAX, 0u32);
        while libc::getppid() == middle_pid {
            sleep_ms(1);
        }
        r.line(&format!("start pid={} ppid={}", libc::getpid(), libc::getppid()));
        libc::close(sync_w);
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &caught as *const u64,
                &mut info as *mut libc::siginfo_t,
                0usize,
                8usize,
            ) as i32;
            if sig > 0 {
                r.line(&format!("signal {sig} {}", sig_name(sig)));
            }
        }
    }
}

/// One flood stream (stdout or stderr), produced lazily line by line.
struct Flood {
    fd: c_int,
    tag: &'static str, // "" or "err:"
    lines: u64,
    next_k: u64,
    pending: Vec<u8>,
    rng: u64,
    live: bool,
}

impl Flood {
    /// Writes one chunk; false once the stream is finished or broken.
    fn step(&mut self, name: &str, hash: u32, max_len: usize, chunk: usize) -> bool {
        self.rng = mix(self.rng);
        let size = 1 + (self.rng % chunk as u64) as usize;
        while self.pending.len() < size && self.next_k < self.lines {
            let k = self.next_k;
            let len = (mix(((hash as u64) << 32) ^ k) % (max_len as u64 + 1)) as usize;
            self.pending.extend_from_slice(format!("{name}:{}{k}:{len}:", self.tag).as_bytes());
            self.pending.extend((0..len).map(|j| payload_byte(hash, k, j)));
            self.pending.push(b'\n');
            self.next_k += 1;
        }
        let n = size.min(self.pending.len());
        if n == 0 || write_all(self.fd, &self.pending[..n]).is_err() {
            if self.fd == 1 && n > 0 {
                STDOUT_BROKEN.store(true, Ordering::Relaxed);
            }
            return false;
        }
        self.pending.drain(..n);
        true
    }
}

/// Both streams advance a chunk at a time, alternating, so the init has to
/// keep two pipes apart while lines are split across writes.
fn flood(r: &Reporter, o: &Opts) {
    let hash = name_hash(&o.name);
    let mut streams = [(1, "", o.flood), (2, "err:", o.flood_stderr)].map(|(fd, tag, lines)| Flood {
        fd,
        tag,
        lines,
        next_k: 0,
        pending: Vec::new(),
        rng: hash as u64 ^ ((fd as u64) << 40),
        live: lines > 0 && !(fd == 1 && STDOUT_BROKEN.load(Ordering::Relaxed)),
    });
    while streams.iter().any(|s| s.live) {
        for s in streams.iter_mut().filter(|s| s.live) {
            s.live = s.step(&o.name, hash, o.max_len, o.chunk);
        }
    }
    r.line("flood done");
}

/// Fork until the kernel says no (a pids cgroup limit), children pausing
/// with an empty mask and default dispositions so TERM/KILL end them.
fn fork_bomb(r: &Reporter) {
    const CAP: u64 = 100_000;
    let mut count = 0u64;
    let reason = loop {
        if count >= CAP {
            break format!("cap of {CAP} forks reached");
        }
        match unsafe { libc::fork() } {
            -1 => break err_text(errno()),
            0 => unsafe {
                set_mask(libc::SIG_SETMASK, 0);
                close_fds_from(0);
                loop {
                    libc::pause();
                }
            },
            _ => count += 1,
        }
    };
    r.line(&format!("fork-bomb stopped after {count} forks: {reason}"));
}

/// A planned end (--exit/--die): its line, then the --no-newline text last,
/// so that text is the stream's unterminated tail.
fn planned_end(r: &Reporter, o: &Opts, ending: Ending) -> ! {
    let tail = || {
        if let Some(t) = &o.no_newline {
            write_stdout(t.as_bytes());
        }
    };
    match ending {
        Ending::Exit(code) => {
            r.line(&format!("exiting code={code}"));
            tail();
            std::process::exit(code)
        }
        Ending::Die(sig) => {
            r.line(&format!("dying by signal {sig}"));
            tail();
            kill_self(sig)
        }
    }
}

fn on_signal(r: &Reporter, o: &Opts, sig: i32) {
    r.line(&format!("signal {sig} {}", sig_name(sig)));
    if o.ignore_term || (sig != libc::SIGTERM && sig != libc::SIGINT) {
        return;
    }
    if let (libc::SIGTERM, Some(code)) = (sig, o.term_exit) {
        exit_code(r, code);
    }
    r.line(&format!("exiting on {}", sig_name(sig)));
    kill_self(sig)
}

/// The single wait point: signalfd + optional listener, no timeout unless
/// an --exit/--die deadline is pending, so an idle standin uses no CPU.
fn event_loop(r: &Reporter, o: &Opts, sfd: c_int, listener: c_int, deadline: Option<Instant>) -> ! {
    loop {
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    planned_end(r, o, o.ending.expect("deadline implies ending"));
                }
                (d - now).as_micros().div_ceil(1000).min(i32::MAX as u128) as c_int
            }
        };
        // poll skips negative fds, so a missing listener costs nothing.
        let mut pfds = [
            libc::pollfd { fd: sfd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: listener, events: libc::POLLIN, revents: 0 },
        ];
        if unsafe { libc::poll(pfds.as_mut_ptr(), 2, timeout) } < 0 {
            continue; // EINTR; nothing else can fail with these arguments
        }
        if pfds[0].revents != 0 {
            let mut infos: [libc::signalfd_siginfo; 8] = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            loop {
                let n = unsafe { libc::read(sfd, infos.as_mut_ptr().cast(), size * infos.len()) };
                if n <= 0 {
                    break; // EAGAIN: drained
                }
                for info in &infos[..n as usize / size] {
                    on_signal(r, o, info.ssi_signo as i32);
                }
            }
        }
        if pfds[1].revents != 0 {
            // Accept and close at once: tests only need the port to answer.
            loop {
                let c =
                    unsafe { libc::accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
                if c >= 0 {
                    unsafe { libc::close(c) };
                } else if errno() != libc::EINTR && errno() != libc::ECONNABORTED {
                    break;
                }
            }
        }
    }
}

/// `--nonblock-stdio`, as Node/libuv does: reports the status flags its fds 1
/// and 2 came with (`stdio-flags fd1=<octal> fd2=<octal>`, O_NONBLOCK is
/// 04000), then sets O_NONBLOCK on both (on the open file descriptions,
/// which the init may hand to the next run) and reports `stdio nonblocking`.
fn nonblock_stdio(r: &Reporter) {
    let flags = |fd: c_int| unsafe { libc::fcntl(fd, libc::F_GETFL) };
    let (out, err) = (flags(1), flags(2));
    r.line(&format!("stdio-flags fd1={out:o} fd2={err:o}"));
    for (fd, old) in [(1, out), (2, err)] {
        if old < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, old | libc::O_NONBLOCK) } != 0 {
            r.line(&format!("stdio nonblocking failed fd={fd}: {}", err_text(errno())));
            return;
        }
    }
    r.line("stdio nonblocking");
}

fn run(o: Opts, log_dir: Option<PathBuf>) -> c_int {
    let r = Reporter { prefix: o.name.clone(), log_path: log_dir.map(|d| d.join(format!("{}.log", o.name))) };
    // Built before any fd of ours is opened and before the mask changes, but
    // written once the caught signals are blocked: a test that has seen it
    // may signal at once (under qemu-user the gap was wide enough for a
    // SIGTERM to kill an --ignore-term stand-in).
    let start = start_line();
    let caught = caught_mask();
    set_mask(libc::SIG_BLOCK, caught);
    r.line(&start);
    if o.nonblock_stdio {
        nonblock_stdio(&r);
    }
    let sfd = unsafe {
        libc::syscall(libc::SYS_signalfd4, -1, &caught as *const u64, 8usize, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
    } as c_int;
    if sfd < 0 {
        r.line(&format!("signalfd failed: {}", err_text(errno())));
        exit_code(&r, 1);
    }

    // --delay: everything below (listen, stray, orphans, flood...) starts
    // this much later; signals wait in the signalfd meanwhile.
    sleep_ms(o.delay_ms);
    let listener = o.listen.map_or(-1, |port| listen_tcp(&r, port));
    if o.stray {
        spawn_stray(&r, caught);
    }
    if o.orphans > 0 {
        make_orphans(&r, o.orphans);
    }
    if o.flood > 0 || o.flood_stderr > 0 {
        flood(&r, &o);
    }
    if o.fork_bomb {
        fork_bomb(&r);
    }
    // Without a planned end the text goes out now; a later report line on
    // stdout then continues it. With one, planned_end writes it last.
    if let (Some(t), None) = (&o.no_newline, o.ending) {
        write_stdout(t.as_bytes());
    }
    let deadline = o.ending.map(|_| Instant::now() + Duration::from_millis(o.after_ms));
    event_loop(&r, &o, sfd, listener, deadline)
}

/// C entry point (see `#![no_main]` above). musl gives std no argv without
/// Rust's runtime, so the arguments are read here.
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let args: Vec<String> = (1..argc.max(1) as usize)
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy().into_owned())
        .collect();
    match parse(&args) {
        Ok(o) => run(o, std::env::var_os("STANDIN_REPORT").filter(|d| !d.is_empty()).map(PathBuf::from)),
        Err(msg) => {
            let _ = write_all(2, format!("standin: {msg}\n").as_bytes());
            2
        }
    }
}
