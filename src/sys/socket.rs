//! The control socket: the init's Unix SOCK_SEQPACKET listener and its
//! clients (each message whole or not at all, in order, on a connection),
//! and the client subcommands' connection, in raw system calls (`raw`):
//! rustix's `socket` and `accept` keep an assertion (a panic path) on the
//! descriptor the kernel returns, its `socket_peercred` one on the length,
//! and its `SocketAddrUnix` costs several hundred bytes: the `sockaddr_un`
//! is filled in by hand, and then rustix's other `net` calls are no smaller
//! than these (measured), so its `net` feature is not used at all.
//!
//! Every descriptor here is close-on-exec; the init's are non-blocking, and
//! sends never raise SIGPIPE (`MSG_NOSIGNAL`), which the init would only
//! find blocked and queued on its signalfd.

use core::mem::{size_of, MaybeUninit};

use rustix::fd::AsRawFd;

use super::bytes::copy;
use super::fds::{close, Fd};
use super::raw::{result, syscall2, syscall3, syscall4, syscall5, syscall6, Ret};

/// Connections the kernel holds for the init before it accepts them.
const BACKLOG: usize = 32;

/// A `sockaddr_un`: the family, then `@NAME` with a NUL for its `@`
/// (abstract) or a path with the NUL after it; the configuration checked
/// that either fits (at most 108 bytes with the NUL).
type SockaddrUn = [u8; 110];

/// `addr` into `raw` as a `sockaddr_un` (`raw` zero-filled): its length,
/// and whether it is a path.
fn sockaddr(raw: &mut SockaddrUn, addr: &[u8]) -> (usize, bool) {
    copy(raw, &(libc::AF_UNIX as u16).to_ne_bytes());
    let copied = copy(raw.get_mut(2..).unwrap_or(&mut []), addr);
    // No address (control is off) is taken as an abstract one: its length,
    // the family's alone, is one no connect accepts (EINVAL).
    let is_path = addr.first() == Some(&b'/');
    // The abstract name's `@` becomes its NUL; a path keeps the NUL after it.
    if is_path {
        return (copied.saturating_add(3), true);
    }
    if let Some(at) = raw.get_mut(2) {
        *at = 0;
    }
    (copied.saturating_add(2), false)
}

/// A descriptor a bare system call returned, kept for the init's lifetime
/// or until [`close`].
fn new_fd(ret: Ret) -> Result<Fd, i32> {
    match i32::try_from(result(ret)?) {
        // SAFETY: the system call just returned this descriptor (not -1),
        // which nothing else owns.
        Ok(raw) if raw >= 0 => Ok(unsafe { Fd::borrow_raw(raw) }),
        _ => Err(libc::EBADF),
    }
}

/// A SOCK_SEQPACKET socket (`flags`: SOCK_NONBLOCK or none), connected to
/// `addr`, or bound at it and listening (`nr`: connect or bind). Binding, a
/// socket file already at a path is replaced first (anything else there is
/// left alone, and the bind fails).
#[inline(never)]
fn socket_at(nr: i64, addr: &[u8], flags: i32) -> Result<Fd, i32> {
    let mut raw = [0; 110];
    let (len, is_path) = sockaddr(&mut raw, addr);
    if nr == libc::SYS_bind && is_path {
        let mut info = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `raw`'s path is NUL-terminated within it (a path is at
        // most 107 bytes), and `info` is a valid out-pointer of its size.
        let found = unsafe { syscall4(libc::SYS_newfstatat, AT_FDCWD, path(&raw), info.as_mut_ptr() as usize, 0) } == 0;
        // SAFETY: the kernel filled `info` in (the call returned 0).
        if found && unsafe { info.assume_init_ref() }.st_mode & libc::S_IFMT == libc::S_IFSOCK {
            unlink(&raw);
        }
    }
    let kind = (libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | flags) as usize;
    // SAFETY: socket takes plain integers.
    let fd = new_fd(unsafe { syscall3(libc::SYS_socket, libc::AF_UNIX as usize, kind, 0) })?;
    // SAFETY: `raw` is a sockaddr_un of at least `len` bytes, alive for the call.
    let mut done = result(unsafe { syscall3(nr, fd.as_raw_fd() as usize, raw.as_ptr() as usize, len) });
    if nr == libc::SYS_bind && done.is_ok() {
        // SAFETY: listen takes plain integers.
        done = result(unsafe { syscall2(libc::SYS_listen, fd.as_raw_fd() as usize, BACKLOG) });
    }
    match done {
        Ok(_) => Ok(fd),
        Err(errno) => {
            close(fd);
            Err(errno)
        }
    }
}

const AT_FDCWD: usize = libc::AT_FDCWD as usize;

/// The path in a filled `sockaddr_un`, NUL-terminated.
fn path(raw: &SockaddrUn) -> usize {
    raw.get(2..).unwrap_or(&[]).as_ptr() as usize
}

/// Removes the file at `raw`'s path.
fn unlink(raw: &SockaddrUn) {
    // SAFETY: the path is NUL-terminated within `raw`, alive for the call.
    unsafe { syscall3(libc::SYS_unlinkat, AT_FDCWD, path(raw), 0) };
}

/// A non-blocking listener on `addr` (`@NAME` or an absolute path), which
/// replaces a socket file at the path.
pub fn listen(addr: &[u8]) -> Result<Fd, i32> {
    socket_at(libc::SYS_bind, addr, libc::SOCK_NONBLOCK)
}

/// Removes the file of a path address: at exit.
pub fn remove(addr: &[u8]) {
    let mut raw = [0; 110];
    if sockaddr(&mut raw, addr).1 {
        unlink(&raw);
    }
}

/// A waiting connection, non-blocking; `Ok(None)`: none waits.
pub fn accept(listener: Fd) -> Result<Option<Fd>, i32> {
    loop {
        let flags = (libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as usize;
        let listener = listener.as_raw_fd() as usize;
        // SAFETY: accept4 with no address to fill in takes plain integers.
        let ret = unsafe { syscall4(libc::SYS_accept4, listener, 0, 0, flags) };
        return match new_fd(ret) {
            Ok(fd) => Ok(Some(fd)),
            Err(libc::EAGAIN) => Ok(None),
            // A peer that gave up before being accepted, or a signal: the next one.
            Err(libc::EINTR | libc::ECONNABORTED) => continue,
            Err(errno) => Err(errno),
        };
    }
}

/// The uid of the process at the other end (SO_PEERCRED, as it was at connect).
pub fn peer_uid(fd: Fd) -> Option<u32> {
    // Read only when the call filled it in.
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid out-pointers of the sizes given.
    let done = unsafe {
        syscall5(
            libc::SYS_getsockopt,
            fd.as_raw_fd() as usize,
            libc::SOL_SOCKET as usize,
            libc::SO_PEERCRED as usize,
            (&raw mut cred) as usize,
            (&raw mut len) as usize,
        )
    } == 0;
    done.then_some(cred.uid)
}

/// One `send`, one message (taken whole or not at all), that never raises
/// SIGPIPE (and never blocks on the init's non-blocking sockets): whether
/// it was taken, or failed for good (EPIPE: a peer that shut its reading
/// side down, however writable its socket polls): `false` only for a full
/// socket, which may take it later. Either way a message not taken is
/// dropped; an `events` client is owed a count only for a full socket (a
/// count it can never take would keep the wait polling it, spinning).
pub fn send(fd: Fd, bytes: &[u8]) -> bool {
    loop {
        // SAFETY: `bytes` is valid for its length; no address (a NULL one,
        // of length 0). All six arguments are set: the kernel ignores the
        // length without an address, but qemu-user refuses a negative one
        // (EINVAL), and a five-argument call left it to whatever the
        // register held.
        let ret = unsafe {
            syscall6(
                libc::SYS_sendto,
                fd.as_raw_fd() as usize,
                bytes.as_ptr() as usize,
                bytes.len(),
                libc::MSG_NOSIGNAL as usize,
                0,
                0,
            )
        };
        return match result(ret) {
            Err(libc::EAGAIN) => false,
            Err(libc::EINTR) => continue,
            _ => true,
        };
    }
}

/// The client subcommands' blocking connection to the init at `addr`.
pub fn connect(addr: &[u8]) -> Result<Fd, i32> {
    // The client has no signal handler: no EINTR to retry.
    socket_at(libc::SYS_connect, addr, 0)
}

/// The init's own uid: peers with it (or 0) are served.
pub fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abstract_names_and_paths_fill_a_sockaddr_un() {
        let at = |addr: &[u8]| {
            let mut raw = [0; 110];
            let (len, is_path) = sockaddr(&mut raw, addr);
            (raw, len, is_path)
        };
        let (raw, len, is_path) = at(b"@sidecar-init");
        assert!(!is_path);
        assert_eq!(len, 2 + 1 + 12);
        assert_eq!(&raw[..2], &(libc::AF_UNIX as u16).to_ne_bytes());
        assert_eq!(&raw[2..16], b"\0sidecar-init\0");
        let (raw, len, is_path) = at(b"/run/x.sock");
        assert!(is_path);
        assert_eq!(len, 2 + 11 + 1);
        assert_eq!(&raw[2..14], b"/run/x.sock\0");
        let longest = [b'a'; 107];
        let mut addr = vec![b'@'];
        addr.extend_from_slice(&longest);
        assert_eq!(at(&addr).1, 2 + 108);
        let mut addr = vec![b'/'];
        addr.extend_from_slice(&longest[1..]);
        let (raw, len, _) = at(&addr);
        assert_eq!(len, 2 + 108);
        assert_eq!(raw[109], 0, "a 107-byte path keeps its NUL");
        assert_eq!(at(b"").1, 2, "no address: the family alone");
    }

    #[test]
    fn no_address_connects_nowhere() {
        assert_eq!(connect(b"").err(), Some(libc::EINVAL));
    }
}
