//! Command-line arguments: only `--help` and `--version`; configuration
//! comes from the environment.

/// `--help`, around the slot names from the slot table.
pub fn help() -> [&'static [u8]; 2] {
    [HELP_HEAD.as_bytes(), HELP_BODY.as_bytes()]
}

const HELP_HEAD: &str = "\
usage: sidecar-init [--help | --version]
PID 1 of the sidecar bundle: runs ";

/// The variables by name, the details in the README (every byte of this
/// text is in the size budget).
const HELP_BODY: &str = ".
Environment: CLAUDE_BOTTLE_SIDECAR_DAEMONS (slots, default all), and with
that prefix CMD_<SLOT>, GRACE_MS, LOG_PREFIX, RESTART, RESTART_DELAY_MS,
RESTART_LIMIT, ESSENTIAL, USER_<SLOT>, PRIVATE_<SLOT>: see the README.
Signals: TERM/INT stop; USR1 (pipelock), RTMIN+1..+4 (each slot) restart;
HUP goes to egress.
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
    let request = if same(first, b"--help") {
        Request::Help
    } else if same(first, b"--version") {
        Request::Version
    } else {
        return Request::Usage(first);
    };
    // Either stands alone.
    match args.next() {
        None => request,
        Some(extra) => Request::Usage(extra),
    }
}

/// `a == b`, as one call: inlined, each comparison with a constant became
/// a chain of byte compares.
#[inline(never)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> String {
        match parse(args.iter().map(|a| a.as_bytes())) {
            Request::Run => "run".into(),
            Request::Help => "help".into(),
            Request::Version => "version".into(),
            Request::Usage(a) => format!("usage {}", String::from_utf8_lossy(a)),
        }
    }

    #[test]
    fn only_a_lone_help_or_version_is_accepted() {
        assert_eq!(parsed(&[]), "run");
        assert_eq!(parsed(&["--help"]), "help");
        assert_eq!(parsed(&["--version"]), "version");
        assert_eq!(parsed(&["--help", "x", "y"]), "usage x");
        assert_eq!(parsed(&["--version", "--help"]), "usage --help");
        assert_eq!(parsed(&["--helpx", "--help"]), "usage --helpx");
        assert_eq!(parsed(&["-h"]), "usage -h");
        assert_eq!(parsed(&[""]), "usage ");
    }
}
