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
pub mod socket;
pub mod spawn;
pub mod wait;

/// The description of the errors a spawn or a pipe can meet; musl's whole
/// strerror table would cost 2 KiB of the size budget.
pub fn error_text(errno: i32) -> &'static [u8] {
    const ENFILE: u8 = libc::ENFILE as u8;
    const EMFILE: u8 = libc::EMFILE as u8;
    // The error's marker byte, then its text up to the next marker.
    let found = match u8::try_from(errno) {
        // ENFILE says what EMFILE says: its text is kept once, as EMFILE's.
        Ok(ENFILE) => bytes::find(ERRORS, EMFILE | 0x80),
        Ok(errno @ 1..0x80) => bytes::find(ERRORS, errno | 0x80),
        _ => None,
    };
    let Some(text) = found.and_then(|at| ERRORS.get(at.wrapping_add(1)..)) else { return b"OS error" };
    text.get(..text.iter().position(|&b| b >= 0x80).unwrap_or(text.len())).unwrap_or(text)
}

/// The texts of [`error_text`], each after its marker: `0x80 | errno`
/// (texts are ASCII, so no marker can be taken for text). A packed string
/// instead of a `match`, which LLVM turns into two tables of 8-byte
/// pointers and lengths indexed by errno, 640 bytes besides the texts.
const ERRORS: &[u8] = b"\
    \x82No such file or directory\
    \x8dPermission denied\
    \x88Exec format error\
    \x94Not a directory\
    \x95Is a directory\
    \xa8Too many levels of symbolic links\
    \xa4File name too long\
    \x87Argument list too long\
    \x9aText file busy\
    \x8cOut of memory\
    \x8bResource temporarily unavailable\
    \x98Too many open files\
    \x81Operation not permitted\
    \x85Input/output error\
    \x96Invalid argument\
    \x89Bad file descriptor\
    \xa0Broken pipe\
    \xe2Address in use\
    \xefConnection refused";

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn error_texts_match_their_numbers() {
        let expected: [(i32, &[u8]); 22] = [
            (libc::ENOENT, b"No such file or directory"),
            (libc::EACCES, b"Permission denied"),
            (libc::ENOEXEC, b"Exec format error"),
            (libc::ENOTDIR, b"Not a directory"),
            (libc::EISDIR, b"Is a directory"),
            (libc::ELOOP, b"Too many levels of symbolic links"),
            (libc::ENAMETOOLONG, b"File name too long"),
            (libc::E2BIG, b"Argument list too long"),
            (libc::ETXTBSY, b"Text file busy"),
            (libc::ENOMEM, b"Out of memory"),
            (libc::EAGAIN, b"Resource temporarily unavailable"),
            (libc::EMFILE, b"Too many open files"),
            (libc::ENFILE, b"Too many open files"),
            (libc::EPERM, b"Operation not permitted"),
            (libc::EIO, b"Input/output error"),
            (libc::EINVAL, b"Invalid argument"),
            (libc::EBADF, b"Bad file descriptor"),
            (libc::EPIPE, b"Broken pipe"),
            (libc::EADDRINUSE, b"Address in use"),
            (libc::ECONNREFUSED, b"Connection refused"),
            (libc::EEXIST, b"OS error"),
            (0, b"OS error"),
        ];
        for (errno, text) in expected {
            assert_eq!(error_text(errno), text, "errno {errno}");
        }
        for errno in [-1, -130, 128, 130, 256 + 2, i32::MIN, i32::MAX] {
            assert_eq!(error_text(errno), b"OS error", "errno {errno}");
        }
    }
}
