//! Renders the init's own lines: notes from the machine and configuration errors.

use super::config::{ConfigError, Problem, DAEMONS_VAR, DEFAULT_GRACE_MS, MAX_GRACE_MS};
use super::line::Line;
use super::machine::{Ended, Note, Skip};
use super::privilege::User;
use super::restart::{DEFAULT_DELAY_MS, DEFAULT_LIMIT, MAX_DELAY_MS, MAX_LIMIT};
use super::routing::SinkId;
use super::signals::{self, KERNEL_SIGRTMIN};
use super::slot::Slot;
use super::trouble::{Trouble, DEGRADED_WAKE_MS};
use super::words::{WordsError, MAX_COMMAND_BYTES, MAX_WORDS};

pub const PREFIX: &str = "sidecar-init: ";

/// What rendering needs from outside the note.
pub trait Context {
    /// The program a slot runs, as configured.
    fn program(&self, slot: Slot) -> &[u8];
    /// The OS's description of an error number.
    fn error_text(&self, errno: i32) -> &[u8];
    /// Whom a slot's daemon runs as, as configured (`None`: as the init).
    fn user(&self, _slot: Slot) -> Option<User> {
        None
    }
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
            l.str(slot.name());
            // A negative errno is the uid/gid switch's (sys::spawn), not the exec's.
            let errno = match context.user(slot) {
                Some(User { uid, gid }) if errno < 0 => {
                    l.str(" cannot switch to uid ").num(uid.into()).str(" gid ").num(gid.into());
                    errno.wrapping_neg()
                }
                _ => {
                    l.str(" cannot start ").quoted(context.program(slot));
                    errno
                }
            };
            l.str(": ");
            // Quoted, so even an unexpected error text leaves room for the code.
            l.quoted(context.error_text(errno)).str(" (errno ").signed(errno.into()).str("); code=").num(code.into());
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
        Note::RestartScheduled { slot, delay_ms, deaths } => {
            l.str(slot.name()).str(" restarting in ").num(delay_ms.into());
            l.str(" ms (quick deaths in a row: ").num(deaths.into()).str(")");
        }
        Note::Failed { slot, deaths } => {
            l.str(slot.name()).str(" failed: ").num(deaths.into()).str(" quick deaths in a row; not restarting");
        }
        Note::EssentialDown { slot, grace_ms } => {
            l.str("essential ").str(slot.name()).str(" is down; shutting down; grace ").num(grace_ms.into());
            l.str(" ms");
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
        Problem::Grace => digits(&mut line, MAX_GRACE_MS, " (milliseconds)", DEFAULT_GRACE_MS),
        Problem::RestartDelay => digits(&mut line, MAX_DELAY_MS, " (milliseconds)", DEFAULT_DELAY_MS),
        Problem::RestartLimit => {
            digits(&mut line, MAX_LIMIT.into(), " (quick deaths in a row; 0: no limit)", DEFAULT_LIMIT.into());
        }
        Problem::LogPrefix => {
            line.str("is not accepted: 1 (prefix daemon lines with [slot]), 0 (no prefix); empty means 1");
        }
        Problem::User => {
            line.str("is not accepted: UID or UID:GID, numeric only (no /etc/passwd), each 0 to 4294967294; ");
            line.str("empty means as the init");
        }
        Problem::Private(name) => {
            line.str("has a bad name '").quoted(name);
            line.str("'; accepted: comma-separated names [A-Za-z_][A-Za-z0-9_]*, each may end in * (a prefix)");
        }
    }
    line.end();
    line
}

/// What a number variable accepts.
fn digits(line: &mut Line, max: u32, unit: &str, default: u32) {
    line.str("is not accepted: ASCII digits only, 0 to ").num(max.into());
    line.str(unit).str("; empty means ").num(default.into());
}

/// What the init says about its start-up, before or instead of running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Startup<'a> {
    /// DAEMONS names no slot: nothing to run, exit 0.
    NothingSelected {
        value: &'a [u8],
    },
    NoSignalFd,
    NoMemory,
    /// Not PID 1 and not a subreaper: orphans go to the real init.
    NotSubreaper,
    /// Fault signals sent by others could kill the init.
    FaultsNotCaught,
}

#[inline(never)]
pub fn startup(what: Startup) -> Line {
    let mut line = Line::new();
    line.str(PREFIX);
    match what {
        Startup::NothingSelected { value } => {
            line.str("no daemon selected (").str(DAEMONS_VAR).str("='").quoted(value);
            line.str("'); nothing to run, exiting");
        }
        Startup::NoSignalFd => {
            line.str("cannot open a signalfd; exiting");
        }
        Startup::NoMemory => {
            line.str("no memory for output buffers; exiting");
        }
        Startup::NotSubreaper => {
            line.str("cannot become a child subreaper; orphans of the daemons go to the real init");
        }
        Startup::FaultsNotCaught => {
            line.str("cannot catch fault signals; one sent by another process would kill the init");
        }
    }
    line.end();
    line
}

/// An argument that is not accepted.
#[inline(never)]
pub fn usage_error(argument: &[u8]) -> Line {
    let mut line = Line::new();
    line.str(PREFIX).str("unknown argument '").quoted(argument);
    line.str("'; accepted: --help, --version (configuration comes from the environment)").end();
    line
}

/// A trouble of the init's, logged once.
#[inline(never)]
pub fn trouble(trouble: &Trouble, context: &impl Context) -> Line {
    let mut line = Line::new();
    line.str(PREFIX);
    let errno = match *trouble {
        Trouble::Unprefixed { slot, errno } => {
            line.str(slot.name()).str(" output goes out unprefixed: cannot make its log pipes");
            Some(errno)
        }
        Trouble::SharedOutput { sink, errno } => {
            line.str("cannot reopen ")
                .str(sink_name(sink))
                .str(" non-blocking; writing it only when poll says a line fits");
            Some(errno)
        }
        Trouble::OutputGone { sink, errno } => {
            line.str(sink_name(sink)).str(" cannot be written any more; its lines are dropped");
            Some(errno)
        }
        Trouble::ReadFailed { errno } => {
            line.str("reading a log pipe failed; its daemon's output may stall");
            Some(errno)
        }
        Trouble::PollFailed { errno } => {
            line.str("poll failed; watching what it can and every log pipe each ");
            line.num(DEGRADED_WAKE_MS).str(" ms");
            Some(errno)
        }
        Trouble::SentFault { sig } => {
            line.str("ignoring ");
            signal_name(&mut line, sig);
            line.str(" sent by another process (not a fault of the init's)");
            None
        }
    };
    if let Some(errno) = errno {
        line.str(" (").quoted(context.error_text(errno)).str(", errno ").signed(errno.into()).str(")");
    }
    line.end();
    line
}

fn sink_name(sink: SinkId) -> &'static str {
    match sink {
        SinkId::Stdout => "stdout",
        SinkId::Stderr => "stderr",
    }
}

/// Said where lines went missing, once the output drains again.
#[inline(never)]
pub fn lines_dropped(count: u64) -> Line {
    let mut line = Line::new();
    line.str(PREFIX).num(count).str(" lines dropped while output was blocked").end();
    line
}

/// The last line at exit when the readers did not take everything in time.
#[inline(never)]
pub fn exit_with_lost_lines(code: u8, lost: u64, mid_line: bool) -> Line {
    let mut line = Line::new();
    if mid_line {
        line.str("\n");
    }
    line.str(PREFIX).str("exiting code=").num(code.into()).str("; ").num(lost);
    line.str(" lines of output dropped: not taken by the exit deadline").end();
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
        fn user(&self, slot: Slot) -> Option<User> {
            (slot == Slot::Pipelock).then_some(User { uid: 1000, gid: 1001 })
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
    fn restart_policy_notes_read_as_the_spec_and_the_issue_say() {
        assert_eq!(
            text(note(&Note::Failed { slot: Slot::Pipelock, deaths: 6 }, &Fake)),
            "sidecar-init: pipelock failed: 6 quick deaths in a row; not restarting\n"
        );
        assert_eq!(
            text(note(&Note::RestartScheduled { slot: Slot::Pipelock, delay_ms: 500, deaths: 1 }, &Fake)),
            "sidecar-init: pipelock restarting in 500 ms (quick deaths in a row: 1)\n"
        );
        assert_eq!(
            text(note(&Note::EssentialDown { slot: Slot::Egress, grace_ms: 8000 }, &Fake)),
            "sidecar-init: essential egress is down; shutting down; grace 8000 ms\n"
        );
        assert_eq!(
            text(note(&Note::Restarting { slot: Slot::GitGate, pid: Some(12), sig: 37 }, &Fake)),
            "sidecar-init: restarting git-gate pid=12 (SIGRTMIN+3)\n"
        );
    }

    #[test]
    fn restart_policy_errors_say_what_is_accepted() {
        let error = ConfigError { variable: Variable::RestartLimit, value: b"1001", problem: Problem::RestartLimit };
        assert_eq!(
            text(config_error(&error)),
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT='1001' is not accepted: ASCII digits only, 0 to 1000 \
             (quick deaths in a row; 0: no limit); empty means 5\n"
        );
        let error = ConfigError { variable: Variable::RestartDelay, value: b"1s", problem: Problem::RestartDelay };
        assert_eq!(
            text(config_error(&error)),
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY_MS='1s' is not accepted: ASCII digits only, 0 to 3600000 \
             (milliseconds); empty means 500\n"
        );
        let error =
            ConfigError { variable: Variable::Essential, value: b"egress,db", problem: Problem::UnknownSlot(b"db") };
        assert_eq!(
            text(config_error(&error)),
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_ESSENTIAL='egress,db' names no slot 'db'; \
             accepted: comma-separated names among egress, pipelock, git-gate, supervise\n"
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

    /// A context whose program and error text are as hostile as they come.
    struct Worst {
        program: Vec<u8>,
        error: Vec<u8>,
        user: Option<User>,
    }
    impl Context for Worst {
        fn program(&self, _: Slot) -> &[u8] {
            &self.program
        }
        fn error_text(&self, _: i32) -> &[u8] {
            &self.error
        }
        fn user(&self, _: Slot) -> Option<User> {
            self.user
        }
    }

    fn assert_whole(line: &str, tail: &str) {
        assert!(line.ends_with(tail), "lost its tail {tail:?}: {line:?}");
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(line.len() < crate::core::line::LINE_BYTES, "{} bytes: cut by the line's end", line.len());
    }

    #[test]
    fn a_config_error_on_600_control_bytes_still_says_what_is_accepted() {
        let value = [1u8; 600];
        let error = ConfigError { variable: Variable::Grace, value: &value, problem: Problem::Grace };
        assert_whole(&text(config_error(&error)), "(milliseconds); empty means 8000\n");
        let error = ConfigError { variable: Variable::Daemons, value: &value, problem: Problem::UnknownSlot(&value) };
        assert_whole(
            &text(config_error(&error)),
            "accepted: comma-separated names among egress, pipelock, git-gate, supervise\n",
        );
    }

    #[test]
    fn a_cannot_start_note_on_a_4000_byte_control_program_keeps_errno_and_code() {
        let context = Worst { program: vec![1u8; 4000], error: b"No such file or directory".to_vec(), user: None };
        let line = text(note(&Note::CannotStart { slot: Slot::Supervise, errno: 2, code: 127 }, &context));
        assert_whole(&line, ": No such file or directory (errno 2); code=127\n");
        assert!(line.contains(r"\x01\x01..."), "the program is cut with a marker: {line:?}");
    }

    #[test]
    fn a_failed_switch_names_the_uid_and_gid_not_the_program() {
        // sys::spawn hands the switch's errno back negated.
        assert_eq!(
            text(note(&Note::CannotStart { slot: Slot::Pipelock, errno: -1, code: 126 }, &Operation)),
            "sidecar-init: pipelock cannot switch to uid 1000 gid 1001: Operation not permitted (errno 1); code=126\n"
        );
        // An exec error of a slot with a user still names the program.
        assert_eq!(
            text(note(&Note::CannotStart { slot: Slot::Pipelock, errno: 13, code: 126 }, &Operation)),
            "sidecar-init: pipelock cannot start /usr/local/bin/pipelock: Operation not permitted (errno 13); code=126\n"
        );
        let context = Worst {
            program: vec![0xff; 4000],
            error: vec![0x80; 4000],
            user: Some(User { uid: u32::MAX, gid: u32::MAX }),
        };
        let line = text(note(&Note::CannotStart { slot: Slot::Supervise, errno: i32::MIN + 1, code: 126 }, &context));
        assert!(
            line.starts_with("sidecar-init: supervise cannot switch to uid 4294967295 gid 4294967295: "),
            "{line:?}"
        );
        assert_whole(&line, "(errno 2147483647); code=126\n");
    }

    struct Operation;
    impl Context for Operation {
        fn program(&self, slot: Slot) -> &[u8] {
            Fake.program(slot)
        }
        fn error_text(&self, _: i32) -> &[u8] {
            b"Operation not permitted"
        }
        fn user(&self, slot: Slot) -> Option<User> {
            Fake.user(slot)
        }
    }

    #[test]
    fn user_and_private_errors_say_what_is_accepted() {
        let error = ConfigError { variable: Variable::User(Slot::Pipelock), value: b"nobody", problem: Problem::User };
        assert_eq!(
            text(config_error(&error)),
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_USER_PIPELOCK='nobody' is not accepted: UID or UID:GID, numeric only \
             (no /etc/passwd), each 0 to 4294967294; empty means as the init\n"
        );
        let error = ConfigError {
            variable: Variable::Private(Slot::Egress),
            value: b"EGRESS_TOKEN_*, *",
            problem: Problem::Private(b"*"),
        };
        assert_eq!(
            text(config_error(&error)),
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_PRIVATE_EGRESS='EGRESS_TOKEN_*, *' has a bad name '*'; accepted: \
             comma-separated names [A-Za-z_][A-Za-z0-9_]*, each may end in * (a prefix)\n"
        );
    }

    /// Every note, with the longest values its fields can hold, and the end its
    /// line must keep. The match has no catch-all: a new note must come here.
    fn worst_notes() -> Vec<(Note, String)> {
        let (pid, sig) = (i32::MIN, i32::MIN);
        let mut all = vec![];
        for slot in Slot::ALL {
            let mut notes = vec![
                Note::Started { slot, pid },
                Note::CannotStart { slot, errno: i32::MIN, code: u8::MAX },
                Note::Died { slot, pid, ended: Ended::Exited(i32::MIN) },
                Note::Died { slot, pid, ended: Ended::Signaled(sig) },
                Note::Died { slot, pid, ended: Ended::Signaled(libc::SIGSTKFLT) },
                Note::ShuttingDown { sig, grace_ms: u32::MAX },
                Note::AlreadyShuttingDown { sig },
                Note::Restarting { slot, pid: Some(pid), sig },
                Note::Restarting { slot, pid: None, sig },
                Note::RestartCoalesced { slot, sig },
                Note::RestartSkipped { slot, sig, why: Skip::ShuttingDown },
                Note::RestartSkipped { slot, sig, why: Skip::NotSelected },
                Note::RestartDropped { slot },
                Note::RestartScheduled { slot, delay_ms: u32::MAX, deaths: u32::MAX },
                Note::Failed { slot, deaths: u32::MAX },
                Note::EssentialDown { slot, grace_ms: u32::MAX },
                Note::Forwarded { slot, pid, sig },
                Note::NotForwarded { slot, sig },
                Note::GraceExpired { slot, pid },
                Note::IgnoredSignal { sig },
                Note::IgnoredSignal { sig: 64 },
                Note::AllDown,
                Note::Sweeping { sig },
                Note::Exiting { code: u8::MAX },
            ];
            for note in notes.drain(..) {
                let tail = match note {
                    Note::Started { .. } => "started pid=-2147483648".to_string(),
                    Note::CannotStart { .. } => "(errno -2147483648); code=255".to_string(),
                    Note::Died { ended: Ended::Exited(_), .. } => "code=-2147483648".to_string(),
                    Note::Died { ended: Ended::Signaled(libc::SIGSTKFLT), .. } => "signal=SIGSTKFLT".to_string(),
                    Note::Died { ended: Ended::Signaled(_), .. } => "signal=signal -2147483648".to_string(),
                    Note::ShuttingDown { .. } => "); grace 4294967295 ms".to_string(),
                    Note::AlreadyShuttingDown { .. } => "changes nothing: already shutting down".to_string(),
                    Note::Restarting { .. } | Note::RestartCoalesced { .. } | Note::RestartSkipped { .. } => {
                        "(signal -2147483648)".to_string()
                    }
                    Note::RestartDropped { slot } => format!("pending {} restart dropped: shutting down", slot.name()),
                    Note::RestartScheduled { slot, .. } => {
                        format!("{} restarting in 4294967295 ms (quick deaths in a row: 4294967295)", slot.name())
                    }
                    Note::Failed { slot, .. } => {
                        format!("{} failed: 4294967295 quick deaths in a row; not restarting", slot.name())
                    }
                    Note::EssentialDown { slot, .. } => {
                        format!("essential {} is down; shutting down; grace 4294967295 ms", slot.name())
                    }
                    Note::Forwarded { slot, .. } => format!("forwarded to {} pid=-2147483648", slot.name()),
                    Note::NotForwarded { slot, .. } => format!("not forwarded: {} is not running", slot.name()),
                    Note::GraceExpired { .. } => "outlived the grace; SIGKILL to its group".to_string(),
                    Note::IgnoredSignal { sig: 64 } => "ignoring SIGRTMIN+30".to_string(),
                    Note::IgnoredSignal { .. } => "ignoring signal -2147483648".to_string(),
                    Note::AllDown => "every daemon has exited".to_string(),
                    Note::Sweeping { .. } => "to every process left in the container".to_string(),
                    Note::Exiting { .. } => "exiting code=255".to_string(),
                };
                all.push((note, tail));
            }
        }
        all
    }

    #[test]
    fn every_note_keeps_its_tail_with_worst_case_values() {
        // Every byte escapes to four: the longest rendering of any program.
        for program in [vec![0xffu8; 4000], vec![b'p'; 4000], vec![]] {
            let context = Worst { program, error: vec![0x80u8; 4000], user: None };
            for (n, tail) in worst_notes() {
                let line = text(note(&n, &context));
                assert!(line.starts_with(PREFIX), "{line:?}");
                assert_whole(&line, &format!("{tail}\n"));
            }
        }
    }

    #[test]
    fn every_config_error_keeps_what_is_accepted_with_worst_case_values() {
        let long = [0xffu8; 4000];
        let accepted_command = " bytes, split on blanks with POSIX shell quoting ('', \"\", \\) and no expansion\n";
        let mut cases: Vec<(ConfigError, &str)> = vec![
            (
                ConfigError { variable: Variable::Daemons, value: &long, problem: Problem::UnknownSlot(&long) },
                "comma-separated names among egress, pipelock, git-gate, supervise\n",
            ),
            (ConfigError { variable: Variable::Grace, value: &long, problem: Problem::Grace }, "empty means 8000\n"),
            (
                ConfigError { variable: Variable::Restart, value: &long, problem: Problem::UnknownSlot(&long) },
                "comma-separated names among egress, pipelock, git-gate, supervise\n",
            ),
            (
                ConfigError { variable: Variable::Essential, value: &long, problem: Problem::UnknownSlot(&long) },
                "comma-separated names among egress, pipelock, git-gate, supervise\n",
            ),
            (
                ConfigError { variable: Variable::RestartDelay, value: &long, problem: Problem::RestartDelay },
                "0 to 3600000 (milliseconds); empty means 500\n",
            ),
            (
                ConfigError { variable: Variable::RestartLimit, value: &long, problem: Problem::RestartLimit },
                "0 to 1000 (quick deaths in a row; 0: no limit); empty means 5\n",
            ),
            (
                ConfigError { variable: Variable::LogPrefix, value: &long, problem: Problem::LogPrefix },
                "0 (no prefix); empty means 1\n",
            ),
        ];
        for slot in Slot::ALL {
            for why in [WordsError::NoWords, WordsError::UnbalancedQuote, WordsError::TooLong, WordsError::TooManyWords]
            {
                let problem = Problem::Command(why);
                cases
                    .push((ConfigError { variable: Variable::Command(slot), value: &long, problem }, accepted_command));
            }
            cases.push((
                ConfigError { variable: Variable::User(slot), value: &long, problem: Problem::User },
                "each 0 to 4294967294; empty means as the init\n",
            ));
            cases.push((
                ConfigError { variable: Variable::Private(slot), value: &long, problem: Problem::Private(&long) },
                "each may end in * (a prefix)\n",
            ));
        }
        for (error, tail) in cases {
            let line = text(config_error(&error));
            assert!(line.starts_with(&format!("{PREFIX}{}='", error.variable.name())), "{line:?}");
            assert_whole(&line, tail);
        }
    }
}
