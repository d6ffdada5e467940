//! File descriptors: the standard three, inherited extras, pipes and writes.
//! Raw libc calls and an own owning type: std's fd types carry assertions
//! (panic paths) this binary must not link.

use super::errno;

pub const STDOUT: i32 = 1;
pub const STDERR: i32 = 2;

/// An open descriptor, closed on drop.
#[derive(Debug)]
pub struct Fd(i32);

impl Fd {
    /// Takes ownership of `raw` when the call that made it succeeded.
    pub fn adopt(raw: i32) -> Option<Fd> {
        (raw >= 0).then_some(Fd(raw))
    }

    pub fn raw(&self) -> i32 {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor; it is closed exactly once.
        unsafe { libc::close(self.0) };
    }
}

/// Opens /dev/null on any of 0, 1, 2 that is closed, so no pipe of ours can
/// land there and be handed to a daemon as its stdin, stdout or stderr.
pub fn ensure_standard_fds() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only inspects the descriptor table.
        if unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFD) } == -1 {
            // SAFETY: a NUL-terminated path; the lowest free fd is `fd`.
            unsafe { libc::syscall(libc::SYS_open, c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

/// Marks every inherited descriptor above 2 close-on-exec: daemons get
/// nothing of the init's but 0, 1, 2 and their own log pipes.
pub fn cloexec_inherited() {
    // SAFETY: close_range only changes flags of descriptors in the range.
    let done = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) } == 0;
    if done {
        return;
    }
    // Kernels before 5.11: walk the table up to the soft limit.
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid out-pointer.
    unsafe { libc::syscall(libc::SYS_getrlimit, libc::RLIMIT_NOFILE, &raw mut limit) };
    let top = i32::try_from(limit.rlim_cur.min(65_536)).unwrap_or(1024);
    for fd in 3..top {
        // SAFETY: F_SETFD on a closed descriptor fails harmlessly with EBADF.
        unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// A pipe `(reader, writer)` whose read end is non-blocking; both close on exec.
pub fn log_pipe() -> Option<(Fd, Fd)> {
    let mut ends = [-1i32; 2];
    // SAFETY: `ends` has room for the two descriptors.
    if unsafe { libc::syscall(libc::SYS_pipe2, ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    let [reader, writer] = ends;
    let (reader, writer) = (Fd::adopt(reader)?, Fd::adopt(writer)?);
    // SAFETY: plain fcntl on a descriptor we own.
    unsafe { libc::syscall(libc::SYS_fcntl, reader.raw(), libc::F_SETFL, libc::O_NONBLOCK) };
    Some((reader, writer))
}

pub enum Read {
    Data(usize),
    Empty,
    Closed,
}

pub fn read(fd: i32, buf: &mut [u8]) -> Read {
    loop {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let got = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match usize::try_from(got) {
            Ok(0) => return Read::Closed,
            Ok(n) => return Read::Data(n),
            Err(_) => match errno() {
                libc::EINTR => continue,
                libc::EAGAIN => return Read::Empty,
                _ => return Read::Closed,
            },
        }
    }
}

pub enum Written {
    Bytes(usize),
    WouldBlock,
    /// The reader is gone (EPIPE) or the descriptor is unusable.
    Gone,
}

/// One `write`, retried on EINTR.
pub fn write_some(fd: i32, bytes: &[u8]) -> Written {
    loop {
        // SAFETY: a valid buffer of `bytes.len()` bytes; a bad fd only fails.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        return match usize::try_from(written) {
            Ok(0) => Written::Gone,
            Ok(n) => Written::Bytes(n),
            Err(_) => match errno() {
                libc::EINTR => continue,
                libc::EAGAIN => Written::WouldBlock,
                _ => Written::Gone,
            },
        };
    }
}

/// Writes all of `bytes` to `fd`, blocking: for the few lines before the
/// wait point exists (usage, configuration errors). A gone reader drops them.
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    while let Written::Bytes(n) = write_some(fd, bytes) {
        bytes = bytes.get(n..).unwrap_or(&[]);
        if bytes.is_empty() {
            return;
        }
    }
}

/// Whether `a` and `b` are the same pipe (the init started with `2>&1 | …`).
pub fn same_pipe(a: i32, b: i32) -> bool {
    match (pipe_id(a), pipe_id(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `(device, inode)` of the pipe on `fd`; `None` for anything but a pipe.
fn pipe_id(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: stat is plain data, filled by the kernel.
    let mut info: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: valid out-pointer.
    let known = unsafe { libc::syscall(libc::SYS_fstat, fd, &raw mut info) } == 0;
    (known && info.st_mode & libc::S_IFMT == libc::S_IFIFO).then_some((info.st_dev, info.st_ino))
}

/// A non-blocking open file description of the pipe on `fd`, made through
/// /proc so the flag does not reach the daemons sharing `fd`. Anything but a
/// pipe (a file: reopening would lose O_APPEND and the offset; a tty; no
/// /proc) stays on `fd` itself, blocking.
pub fn reopen_nonblocking(fd: i32) -> i32 {
    if pipe_id(fd).is_none() {
        return fd;
    }
    let path: &[u8] = if fd == STDOUT { b"/proc/self/fd/1\0" } else { b"/proc/self/fd/2\0" };
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated path.
    let own = unsafe { libc::syscall(libc::SYS_open, path.as_ptr(), flags) };
    i32::try_from(own).ok().filter(|&own| own >= 0).unwrap_or(fd)
}
