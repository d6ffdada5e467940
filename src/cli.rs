//! Command-line arguments: `--help`, `--version` and the client
//! subcommands; the init's configuration comes from the environment.

use crate::logic::control::parse_request;
use crate::logic::line::Line;

/// `--help`, around the slot names from the slot table.
pub fn help() -> [&'static [u8]; 2] {
    [HELP_HEAD.as_bytes(), HELP_BODY.as_bytes()]
}

const HELP_HEAD: &str = "\
usage: sidecar-init [--help | --version | status | health | events | restart SLOT | signal SLOT SIGNAL]
PID 1 of the sidecar bundle: runs ";

/// The variables by name, the details in the README (every byte of this
/// text is in the size budget).
const HELP_BODY: &str = ".
Environment: CLAUDE_BOTTLE_SIDECAR_DAEMONS (slots, default all), and with
that prefix CMD_<SLOT>, GRACE_MS, LOG_PREFIX, RESTART, RESTART_DELAY_MS,
RESTART_LIMIT, ESSENTIAL, CONTROL, USER_<SLOT>, PRIVATE_<SLOT>: see the README.
Signals: TERM/INT stop; USR1 (pipelock), RTMIN+1..+4 (each slot) restart;
HUP goes to egress.
";

pub const VERSION: &str = concat!("sidecar-init ", env!("CARGO_PKG_VERSION"), "\n");

#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    Run,
    Help,
    Version,
    /// A request message for the running init.
    Control,
    /// Arguments that are not accepted, joined by spaces.
    Usage,
}

/// What the arguments after the program name ask for. They are joined by
/// spaces into `line`: a request message if they make one. Arguments too long
/// for a [`Line`] are cut, and then no request (every request is short).
pub fn parse<'a>(args: impl Iterator<Item = &'a [u8]>, line: &mut Line) -> Request {
    let mut count = 0usize;
    for arg in args {
        if count > 0 {
            line.str(" ");
        }
        count = count.saturating_add(1);
        line.text(arg);
    }
    let words = line.as_bytes();
    if count == 0 {
        Request::Run
    } else if same(words, b"--help") {
        Request::Help
    } else if same(words, b"--version") {
        Request::Version
    } else if parse_request(words).is_some() {
        Request::Control
    } else {
        Request::Usage
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

    fn parsed(args: &[&str]) -> (Request, String) {
        let mut line = Line::new();
        let request = parse(args.iter().map(|a| a.as_bytes()), &mut line);
        (request, String::from_utf8(line.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn no_arguments_run_the_init_and_help_or_version_stand_alone() {
        assert_eq!(parsed(&[]).0, Request::Run);
        assert_eq!(parsed(&["--help"]).0, Request::Help);
        assert_eq!(parsed(&["--version"]).0, Request::Version);
    }

    #[test]
    fn subcommands_become_request_messages() {
        for (args, line) in [
            (&["status"][..], "status"),
            (&["health"], "health"),
            (&["events"], "events"),
            (&["restart", "git-gate"], "restart git-gate"),
            (&["signal", "egress", "HUP"], "signal egress HUP"),
            (&["signal", "egress", "SIGHUP"], "signal egress SIGHUP"),
            (&["signal", "supervise", "64"], "signal supervise 64"),
        ] {
            assert_eq!(parsed(args), (Request::Control, line.to_string()), "{args:?}");
        }
    }

    #[test]
    fn anything_else_is_a_usage_error_naming_the_arguments() {
        for args in [
            &["--bogus"][..],
            &["--help", "extra"],
            &["--version", "--help"],
            &["-h"],
            &["run"],
            &["status", "extra"],
            &["restart"],
            &["restart", "proxy"],
            &["restart", "egress", "pipelock"],
            &["signal", "egress"],
            &["signal", "egress", "0"],
            &["signal", "egress", "65"],
            &["signal", "egress", "hup"],
            &["signal", "egress", "HUP", "x"],
            &["status\n"],
            &["", "status"],
            &[""],
        ] {
            assert_eq!(parsed(args), (Request::Usage, args.join(" ")), "{args:?}");
        }
        let long = "x".repeat(600);
        assert_eq!(parsed(&["restart", &long]).0, Request::Usage);
        assert_eq!(parsed(&["status", &long]).0, Request::Usage, "cut, and still no request");
    }

    #[test]
    fn the_usage_error_gives_helps_usage_line() {
        let usage = HELP_HEAD.lines().next().unwrap();
        let line = crate::logic::report::usage_error(b"x");
        assert!(String::from_utf8_lossy(line.as_bytes()).ends_with(&format!("; {usage}\n")));
    }
}
