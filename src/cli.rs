//! Command-line arguments: only `--help` and `--version`; configuration
//! comes from the environment.

use core::ffi::{c_char, c_int, CStr};

pub const HELP: &str = "\
usage: sidecar-init [--help | --version]
PID 1 of the sidecar bundle: runs egress, pipelock, git-gate, supervise.
Environment: CLAUDE_BOTTLE_SIDECAR_DAEMONS (slots, default all),
CLAUDE_BOTTLE_SIDECAR_CMD_<SLOT> (command), CLAUDE_BOTTLE_SIDECAR_GRACE_MS
(stop grace, 8000), CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX (1: [slot] lines, 0: raw).
Signals: TERM/INT stop, USR1 restarts pipelock, HUP goes to egress.
";

pub const VERSION: &str = concat!("sidecar-init ", env!("CARGO_PKG_VERSION"), "\n");

pub enum Request<'a> {
    Run,
    Help,
    Version,
    /// An argument that is not accepted.
    Usage(&'a [u8]),
}

/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings, as `main` receives them.
pub unsafe fn parse<'a>(argc: c_int, argv: *const *const c_char) -> Request<'a> {
    if argc < 2 || argv.is_null() {
        return Request::Run;
    }
    // SAFETY: argc >= 2, so argv[1] is a valid string (caller's contract).
    let first = unsafe { CStr::from_ptr(*argv.add(1)) }.to_bytes();
    match first {
        b"--help" if argc == 2 => Request::Help,
        b"--version" if argc == 2 => Request::Version,
        b"--help" | b"--version" => {
            // SAFETY: argc >= 3 here.
            Request::Usage(unsafe { CStr::from_ptr(*argv.add(2)) }.to_bytes())
        }
        other => Request::Usage(other),
    }
}
