//! The thin imperative layer: every system call the init makes, each wrapped
//! so the rest of the code sees plain results. Built on rustix's safe API;
//! raw system calls (`raw`) only where rustix has none, said at each such call.

pub mod bytes;
pub mod clock;
pub mod environ;
pub mod fds;
pub mod memory;
pub mod process;
pub mod raw;
pub mod signals;
pub mod spawn;
pub mod wait;

/// The description of the errors a spawn or a pipe can meet; musl's whole
/// strerror table would cost 2 KiB of the size budget.
pub fn error_text(errno: i32) -> &'static [u8] {
    match errno {
        libc::ENOENT => b"No such file or directory",
        libc::EACCES => b"Permission denied",
        libc::ENOEXEC => b"Exec format error",
        libc::ENOTDIR => b"Not a directory",
        libc::EISDIR => b"Is a directory",
        libc::ELOOP => b"Too many levels of symbolic links",
        libc::ENAMETOOLONG => b"File name too long",
        libc::E2BIG => b"Argument list too long",
        libc::ETXTBSY => b"Text file busy",
        libc::ENOMEM => b"Out of memory",
        libc::EAGAIN => b"Resource temporarily unavailable",
        libc::EMFILE | libc::ENFILE => b"Too many open files",
        libc::EPERM => b"Operation not permitted",
        libc::EIO => b"Input/output error",
        libc::EINVAL => b"Invalid argument",
        libc::EBADF => b"Bad file descriptor",
        libc::EPIPE => b"Broken pipe",
        _ => b"OS error",
    }
}
