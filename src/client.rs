//! The client subcommands: one request message to the running init over its
//! control socket (found as the init finds it, from the environment); the
//! answer's text to stdout after `ok`, to stderr after `no`.

use core::ffi::c_int;

use crate::logic::config::{self, ControlAddr, Variable};
use crate::logic::line::LINE_BYTES;
use crate::logic::report;
use crate::sys::environ::Environ;
use crate::sys::error_text;
use crate::sys::fds::{read, write_all, Fd, Read, STDERR, STDOUT};
use crate::sys::socket;
use crate::USAGE_ERROR;

/// Exit code when no init answers, or the connection closes unanswered.
pub const NO_ANSWER: c_int = 3;

/// `request` is the request message.
#[inline(never)]
pub fn run(request: &[u8], environ: &Environ) -> c_int {
    let mut addr = ControlAddr::new();
    let value = environ.var(Variable::Control);
    if config::parse_control(value, &mut addr).is_none() {
        write_all(STDERR, report::config_error(&config::control_error(value)).as_bytes());
        return USAGE_ERROR;
    }
    // Off: no address, which no connect takes (`socket::sockaddr`), and
    // no_answer says the init is off whatever the errno.
    let errno = match socket::connect(&addr) {
        Ok(fd) => match ask(fd, request) {
            Some(code) => return code,
            None => 0,
        },
        Err(errno) => errno,
    };
    write_all(STDERR, report::no_answer(&addr, errno, error_text(errno)).as_bytes());
    NO_ANSWER
}

/// Sends the request and relays the answer: its exit code, 0 after `ok`
/// and 1 after `no`; `None`: none came.
fn ask(fd: Fd, request: &[u8]) -> Option<c_int> {
    // One message: sent whole or not at all.
    if !socket::send(fd, request) {
        return None;
    }
    // Every message of the init's is one Line at most: a read takes it whole.
    let mut buf = [0u8; LINE_BYTES];
    let Read::Data(n) = read(fd, &mut buf) else { return None };
    let (head, mut data) = buf.get(..n)?.split_at_checked(3)?;
    let (code, out) = match head {
        b"ok\n" => (0, STDOUT),
        b"no\n" => (1, STDERR),
        _ => return None,
    };
    loop {
        write_all(out, data);
        let Read::Data(n) = read(fd, &mut buf) else { break };
        data = buf.get(..n).unwrap_or_default();
    }
    Some(code)
}
