//! Renders the init's own lines: notes from the machine and configuration errors.

use super::config::{ConfigError, Problem, DEFAULT_GRACE_MS, MAX_GRACE_MS};
use super::line::Line;
use super::machine::{Ended, Note, Skip};
use super::signals::{self, KERNEL_SIGRTMIN};
use super::slot::Slot;
use super::words::{WordsError, MAX_COMMAND_BYTES, MAX_WORDS};

pub const PREFIX: &str = "sidecar-init: ";

/// What rendering needs from outside the note.
pub trait Context {
    /// The program a slot runs, as configured.
    fn program(&self, slot: Slot) -> &[u8];
    /// The OS's description of an error number.
    fn error_text(&self, errno: i32) -> &[u8];
}

pub fn signal_name(line: &mut Line, sig: i32) {
    match signals::name(sig) {
        Some(name) => line.str(name),
        None if sig == KERNEL_SIGRTMIN => line.str("SIGRTMIN"),
        None if (KERNEL_SIGRTMIN..=64).contains(&sig) => {
            line.str("SIGRTMIN+").signed(i64::from(sig.wrapping_sub(KERNEL_SIGRTMIN)))
        }
        None => line.str("signal ").signed(i64::from(sig)),
    };
}

/// One note as a whole line, newline included.
#[inline(never)]
pub fn note(note: &Note, context: &impl Context) -> Line {
    let mut line = Line::new();
    line.str(PREFIX);
    let l = &mut line;
    match *note {
        Note::Started { slot, pid } => {
            l.str(slot.name()).str(" started pid=").signed(pid.into());
        }
        Note::CannotStart { slot, errno, code } => {
            l.str(slot.name()).str(" cannot start ").quoted(context.program(slot)).str(": ");
            l.text(context.error_text(errno)).str(" (errno ").signed(errno.into()).str("); code=").num(code.into());
        }
        Note::Died { slot, pid, ended } => {
            l.str(slot.name()).str(" exited pid=").signed(pid.into());
            match ended {
                Ended::Exited(code) => l.str(" code=").signed(code.into()),
                Ended::Signaled(sig) => {
                    l.str(" signal=");
                    signal_name(l, sig);
                    l
                }
            };
        }
        Note::ShuttingDown { sig, grace_ms } => {
            l.str("shutting down (");
            signal_name(l, sig);
            l.str("); grace ").num(grace_ms.into()).str(" ms");
        }
        Note::AlreadyShuttingDown { sig } => {
            signal_name(l, sig);
            l.str(" changes nothing: already shutting down");
        }
        Note::Restarting { slot, pid, sig } => {
            l.str("restarting ").str(slot.name());
            match pid {
                Some(pid) => l.str(" pid=").signed(pid.into()),
                None => l.str(", which was down,"),
            };
            l.str(" (");
            signal_name(l, sig);
            l.str(")");
        }
        Note::RestartCoalesced { slot, sig } => {
            l.str(slot.name()).str(" restart already pending (");
            signal_name(l, sig);
            l.str(")");
        }
        Note::RestartSkipped { slot, sig, why } => {
            l.str(slot.name()).str(" restart skipped: ");
            match why {
                Skip::ShuttingDown => l.str("shutting down"),
                Skip::NotSelected => l.str(slot.name()).str(" is not selected"),
            };
            l.str(" (");
            signal_name(l, sig);
            l.str(")");
        }
        Note::RestartDropped { slot } => {
            l.str("pending ").str(slot.name()).str(" restart dropped: shutting down");
        }
        Note::Forwarded { slot, pid, sig } => {
            signal_name(l, sig);
            l.str(" forwarded to ").str(slot.name()).str(" pid=").signed(pid.into());
        }
        Note::NotForwarded { slot, sig } => {
            signal_name(l, sig);
            l.str(" not forwarded: ").str(slot.name()).str(" is not running");
        }
        Note::GraceExpired { slot, pid } => {
            l.str(slot.name()).str(" pid=").signed(pid.into()).str(" outlived the grace; SIGKILL to its group");
        }
        Note::IgnoredSignal { sig } => {
            l.str("ignoring ");
            signal_name(l, sig);
        }
        Note::AllDown => {
            l.str("every daemon has exited");
        }
        Note::Sweeping { sig } => {
            signal_name(l, sig);
            l.str(" to every process left in the container");
        }
        Note::Exiting { code } => {
            l.str("exiting code=").num(code.into());
        }
    }
    line.end();
    line
}

#[inline(never)]
pub fn config_error(error: &ConfigError) -> Line {
    let mut line = Line::new();
    line.str(PREFIX).str(error.variable.name()).str("='").quoted(error.value).str("' ");
    match error.problem {
        Problem::UnknownSlot(name) => {
            line.str("names no slot '").quoted(name).str("'; accepted: comma-separated names among ");
            line.str("egress, pipelock, git-gate, supervise");
        }
        Problem::Command(why) => {
            line.str(match why {
                WordsError::NoWords => "has no words",
                WordsError::UnbalancedQuote => "has an unbalanced quote",
                WordsError::TooLong => "is too long",
                WordsError::TooManyWords => "has too many words",
            });
            line.str("; accepted: a command line of at most ").num(MAX_WORDS as u64);
            line.str(" words and ").num((MAX_COMMAND_BYTES - 1) as u64);
            line.str(" bytes, split on blanks with POSIX shell quoting ('', \"\", \\) and no expansion");
        }
        Problem::Grace => {
            line.str("is not accepted: ASCII digits only, 0 to ").num(MAX_GRACE_MS.into());
            line.str(" (milliseconds); empty means ").num(DEFAULT_GRACE_MS.into());
        }
        Problem::LogPrefix => {
            line.str("is not accepted: 1 (prefix daemon lines with [slot]), 0 (no prefix); empty means 1");
        }
    }
    line.end();
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{Variable, GRACE_VAR};

    struct Fake;
    impl Context for Fake {
        fn program(&self, slot: Slot) -> &[u8] {
            slot.default_command().split(' ').next().unwrap().as_bytes()
        }
        fn error_text(&self, _: i32) -> &[u8] {
            b"No such file or directory"
        }
    }

    fn text(line: Line) -> String {
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn notes_read_as_the_spec_examples() {
        assert_eq!(
            text(note(&Note::Started { slot: Slot::Egress, pid: 7 }, &Fake)),
            "sidecar-init: egress started pid=7\n"
        );
        assert_eq!(
            text(note(&Note::Died { slot: Slot::Pipelock, pid: 9, ended: Ended::Exited(1) }, &Fake)),
            "sidecar-init: pipelock exited pid=9 code=1\n"
        );
        assert_eq!(
            text(note(&Note::ShuttingDown { sig: libc::SIGTERM, grace_ms: 8000 }, &Fake)),
            "sidecar-init: shutting down (SIGTERM); grace 8000 ms\n"
        );
    }

    #[test]
    fn deaths_by_signal_and_start_failures_name_the_cause() {
        assert_eq!(
            text(note(&Note::Died { slot: Slot::GitGate, pid: 3, ended: Ended::Signaled(9) }, &Fake)),
            "sidecar-init: git-gate exited pid=3 signal=SIGKILL\n"
        );
        assert_eq!(
            text(note(&Note::CannotStart { slot: Slot::Egress, errno: 2, code: 127 }, &Fake)),
            "sidecar-init: egress cannot start /app/egress-entrypoint.sh: No such file or directory (errno 2); code=127\n"
        );
    }

    #[test]
    fn real_time_signals_use_dockers_names() {
        assert_eq!(text(note(&Note::IgnoredSignal { sig: 36 }, &Fake)), "sidecar-init: ignoring SIGRTMIN+2\n");
        assert_eq!(text(note(&Note::IgnoredSignal { sig: 34 }, &Fake)), "sidecar-init: ignoring SIGRTMIN\n");
        assert_eq!(text(note(&Note::IgnoredSignal { sig: 32 }, &Fake)), "sidecar-init: ignoring signal 32\n");
    }

    #[test]
    fn config_errors_name_variable_value_and_what_is_accepted() {
        let error = ConfigError { variable: Variable::Grace, value: b"8s\n", problem: Problem::Grace };
        let line = text(config_error(&error));
        assert!(
            line.starts_with(
                "sidecar-init: CLAUDE_BOTTLE_SIDECAR_GRACE_MS='8s\\n' is not accepted: ASCII digits only, 0 to 3600000"
            ),
            "{line}"
        );
        assert!(line.contains(GRACE_VAR));
        assert_eq!(line.matches('\n').count(), 1);
    }
}
