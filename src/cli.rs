//! Command-line arguments: only `--help` and `--version`; configuration
//! comes from the environment.

pub const HELP: &str = "\
usage: sidecar-init [--help | --version]
PID 1 of the sidecar bundle: runs egress, pipelock, git-gate, supervise.
Environment: CLAUDE_BOTTLE_SIDECAR_DAEMONS (slots, default all),
CLAUDE_BOTTLE_SIDECAR_CMD_<SLOT> (command), CLAUDE_BOTTLE_SIDECAR_GRACE_MS
(stop grace, 8000), CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX (1: [slot] lines, 0: raw),
CLAUDE_BOTTLE_SIDECAR_RESTART (slots restarted when they die, default none),
CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY_MS (backoff base, 500),
CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT (quick deaths before failed, 5; 0: none),
CLAUDE_BOTTLE_SIDECAR_ESSENTIAL (slots whose end stops the bundle).
..._USER_<SLOT> (UID[:GID] to run as), ..._PRIVATE_<SLOT> (NAME,PREFIX*: only it gets them).
Signals: TERM/INT stop, USR1 restarts pipelock, RTMIN+1..+4 restart egress,
pipelock, git-gate, supervise, HUP goes to egress.
";

pub const VERSION: &str = concat!("sidecar-init ", env!("CARGO_PKG_VERSION"), "\n");

pub enum Request<'a> {
    Run,
    Help,
    Version,
    /// An argument that is not accepted.
    Usage(&'a [u8]),
}

/// What the arguments after the program name ask for.
pub fn parse<'a>(mut args: impl Iterator<Item = &'a [u8]>) -> Request<'a> {
    let Some(first) = args.next() else { return Request::Run };
    match (first, args.next()) {
        (b"--help", None) => Request::Help,
        (b"--version", None) => Request::Version,
        (b"--help" | b"--version", Some(extra)) => Request::Usage(extra),
        (other, _) => Request::Usage(other),
    }
}
