//! File descriptors: the standard three, inherited extras, pipes and writes,
//! on rustix's safe calls.
//!
//! Every descriptor the init opens lives as long as the init, so it is held
//! as a `BorrowedFd<'static>` ([`Fd`]), made once from the owned descriptor
//! after checking it (rustix's `OwnedFd::as_fd` would keep an assertion, a
//! panic path, at every use).

use core::ffi::CStr;

use rustix::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use rustix::fs::{self, OFlags};
use rustix::io::{self, Errno, FdFlags};
use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{getrlimit, Resource};

use super::raw::{result, syscall3, syscall4};

/// A descriptor kept open for the init's lifetime.
pub type Fd = BorrowedFd<'static>;

pub const STDIN: Fd = standard(0);
pub const STDOUT: Fd = standard(1);
pub const STDERR: Fd = standard(2);

const fn standard(raw: i32) -> Fd {
    // SAFETY: 0, 1 and 2 are open for the init's lifetime: before anything
    // but a usage or configuration error line uses them, ensure_standard_fds
    // opens /dev/null on any that is closed (a write to a closed one only fails).
    unsafe { BorrowedFd::borrow_raw(raw) }
}

/// Keeps `owned` open for the rest of the init's life.
pub fn keep(owned: OwnedFd) -> Option<Fd> {
    adopt(owned.into_raw_fd())
}

/// A descriptor the kernel just returned (or -1), kept open for the init's
/// lifetime: the one place a raw number becomes an [`Fd`].
pub fn adopt(raw: i32) -> Option<Fd> {
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` is an open descriptor that nothing closes any more (the
    // caller's: fresh from the kernel), and it is not -1 (checked, which also
    // drops borrow_raw's assertion).
    Some(unsafe { BorrowedFd::borrow_raw(raw) })
}

/// Whether `a` and `b` are the same descriptor number.
pub fn same(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    a.as_raw_fd() == b.as_raw_fd()
}

/// Closes `fd`, one of the few descriptors that do not live as long as the
/// init (a spawn's report, a control client, a listener given up); nothing
/// may use it afterwards.
pub fn close(fd: Fd) {
    // SAFETY: the caller gives up `fd`; close's error leaves it closed all the same.
    unsafe { io::close(fd.as_raw_fd()) };
}

/// Opens /dev/null on any of 0, 1, 2 that is closed, so no pipe of ours can
/// land there and be handed to a daemon as its stdin, stdout or stderr.
pub fn ensure_standard_fds() {
    for &standard in &[STDIN, STDOUT, STDERR] {
        if io::fcntl_getfd(standard) == Err(Errno::BADF) {
            // The lowest free descriptor is `standard`: kept open from now on.
            let _ = open(c"/dev/null", OFlags::RDWR);
        }
    }
}

/// Marks every inherited descriptor above 2 close-on-exec: daemons get
/// nothing of the init's but 0, 1, 2 and their own log pipes.
pub fn cloexec_inherited() {
    // rustix has no close_range.
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    let done =
        unsafe { syscall3(libc::SYS_close_range, 3, u32::MAX as usize, libc::CLOSE_RANGE_CLOEXEC as usize) } == 0;
    if done {
        return;
    }
    // Kernels before 5.11: walk the table up to the soft limit.
    let top = getrlimit(Resource::Nofile).current.unwrap_or(1024).min(65_536);
    // A number that is not open only fails the fcntl with EBADF.
    for fd in (3..i32::try_from(top).unwrap_or(1024)).filter_map(adopt) {
        let _ = io::fcntl_setfd(fd, FdFlags::CLOEXEC);
    }
}

/// `open(path, flags)`, kept open for the init's lifetime. A raw system
/// call: rustix's `open` keeps an assertion (a panic path) on the
/// descriptor the kernel returns.
fn open(path: &CStr, flags: OFlags) -> Result<Fd, i32> {
    // SAFETY: a NUL-terminated path; the flags are plain bits.
    let ret = unsafe {
        syscall4(libc::SYS_openat, libc::AT_FDCWD as usize, path.as_ptr() as usize, flags.bits() as usize, 0)
    };
    i32::try_from(result(ret)?).ok().and_then(adopt).ok_or(libc::EBADF)
}

/// A pipe `(reader, writer)` whose read end is non-blocking; both close on
/// exec and stay open for the init's lifetime. The write end is made
/// non-blocking too, by the one flag of pipe2 (a separate call for the read
/// end alone would cost bytes): no run gets it so, as each is handed it
/// through [`make_blocking`] first.
pub fn log_pipe() -> Result<(Fd, Fd), Errno> {
    pipe(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
}

/// A pipe `(reader, writer)` made with `flags`, both ends kept open for the
/// init's lifetime (unless closed by name).
pub fn pipe(flags: PipeFlags) -> Result<(Fd, Fd), Errno> {
    let (reader, writer) = pipe_with(flags)?;
    let (Some(reader), Some(writer)) = (keep(reader), keep(writer)) else { return Err(Errno::BADF) };
    Ok((reader, writer))
}

/// Makes the open file description of `fd` blocking again: a daemon that set
/// O_NONBLOCK on its stdout (Node, libuv) must not hand it to the next run.
pub fn make_blocking(fd: Fd) -> Result<(), Errno> {
    let flags = fs::fcntl_getfl(fd)?;
    if flags.contains(OFlags::NONBLOCK) {
        fs::fcntl_setfl(fd, flags.difference(OFlags::NONBLOCK))?;
    }
    Ok(())
}

pub enum Read {
    Data(usize),
    Empty,
    Closed,
    /// The read failed with this errno (not EAGAIN, not EINTR), as wide as
    /// `Data`'s count: the result then comes back in two registers.
    Failed(usize),
}

pub fn read(fd: Fd, buf: &mut [u8]) -> Read {
    loop {
        return match io::read(fd, &mut *buf) {
            Ok(0) => Read::Closed,
            Ok(n) => Read::Data(n),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => Read::Empty,
            Err(error) => Read::Failed(error.raw_os_error() as usize),
        };
    }
}

pub enum Written {
    Bytes(usize),
    WouldBlock,
    /// The reader is gone (EPIPE) or the descriptor is unusable.
    /// (As wide as `Bytes`' count: the result comes back in two registers.)
    Gone(usize),
}

/// One `write`, retried on EINTR.
pub fn write_some(fd: Fd, bytes: &[u8]) -> Written {
    loop {
        return match io::write(fd, bytes) {
            Ok(0) => Written::Gone(Errno::PIPE.raw_os_error() as usize),
            Ok(n) => Written::Bytes(n),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => Written::WouldBlock,
            Err(error) => Written::Gone(error.raw_os_error() as usize),
        };
    }
}

/// Writes all of `bytes` to `fd`, blocking: for the few lines before the
/// wait point exists (usage, configuration errors) and for the client
/// commands. A gone reader drops them.
pub fn write_all(fd: Fd, mut bytes: &[u8]) {
    while let Written::Bytes(n) = write_some(fd, bytes) {
        bytes = bytes.get(n..).unwrap_or(&[]);
        if bytes.is_empty() {
            return;
        }
    }
}

/// Whether `a` and `b` are the same pipe (the init started with `2>&1 | …`).
pub fn same_pipe(a: Fd, b: Fd) -> bool {
    match (pipe_id(a), pipe_id(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `(device, inode)` of the pipe on `fd`; `None` for anything but a pipe.
fn pipe_id(fd: Fd) -> Option<(u64, u64)> {
    let info = fs::fstat(fd).ok()?;
    (info.st_mode & libc::S_IFMT == libc::S_IFIFO).then_some((info.st_dev, info.st_ino))
}

/// How the init's own stdout or stderr can be written without blocking.
pub enum Sink {
    /// A non-blocking open file description of the pipe of its own, made
    /// through /proc so the flag does not reach the daemons sharing it.
    OwnDescription(Fd),
    /// The shared descriptor itself (blocking): a pipe that could not be
    /// reopened (no /proc, EACCES as a non-root uid, no descriptor left),
    /// with why (an errno); writes must stay within what poll reports writable.
    SharedPipe(Fd, i32),
    /// Not a pipe: a file (reopening would lose O_APPEND and the offset), a
    /// tty, /dev/null. Written as it is.
    NotAPipe(Fd),
}

pub fn open_sink(fd: Fd) -> Sink {
    if pipe_id(fd).is_none() {
        return Sink::NotAPipe(fd);
    }
    let path = if same(fd, STDOUT) { c"/proc/self/fd/1" } else { c"/proc/self/fd/2" };
    let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match open(path, flags) {
        Ok(own) => Sink::OwnDescription(own),
        Err(error) => Sink::SharedPipe(fd, error),
    }
}
