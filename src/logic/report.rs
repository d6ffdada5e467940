//! Renders the init's own lines: notes from the machine and configuration errors.
//!
//! Each line is a template (its text, with `%` and a letter where a value
//! goes) and the values it names: one small renderer instead of a call per
//! piece of text at every note, which keeps the binary small.

use super::config::{ConfigError, Problem, DEFAULT_GRACE_MS, MAX_GRACE_MS, VAR_PREFIX};
use super::line::Line;
use super::machine::{Ended, Note, Pid, Skip, REQUESTED};
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
    /// The pid of a slot's last run, for events about a slot whose run is over.
    fn last_pid(&self, _slot: Slot) -> Option<Pid> {
        None
    }
}

pub fn signal_name(line: &mut Line, sig: i32) {
    match signals::name(sig) {
        Some(name) => line.str("SIG").text(name),
        None if sig == REQUESTED => line.str("sidecar-init restart"),
        None if sig == KERNEL_SIGRTMIN => line.str("SIGRTMIN"),
        None if (KERNEL_SIGRTMIN..=64).contains(&sig) => {
            line.str("SIGRTMIN+").signed(i64::from(sig.wrapping_sub(KERNEL_SIGRTMIN)))
        }
        None => line.str("signal ").signed(i64::from(sig)),
    };
}

/// The values a template names: `%s` and `%t` are `text`, as written; `%q`
/// and `%r` are `quote`, quoted ([`Line::quoted`]); `%p` and `%c` are
/// `signed`; `%n` is `signed[1]` as the `u64` it holds; `%g` is the name
/// of the signal in `signed[1]` ([`signal_name`]). All zero by default, so
/// making one costs a few stores.
#[derive(Default)]
struct Values<'a> {
    text: [Option<&'a [u8]>; 2],
    quote: [Option<&'a [u8]>; 2],
    signed: [i64; 2],
    /// `%i`: a pid for an event that names no process of its own (the
    /// slot's last one), or `null`.
    id: Option<Pid>,
}

/// `template` with its values, after what `line` holds, up to its first
/// newline if it has one; returns what follows that newline (a note's
/// event template), or nothing.
#[inline(never)]
fn render<'t>(line: &mut Line, template: &'t [u8], values: &Values) -> &'t [u8] {
    let mut rest = template;
    loop {
        let at = rest.iter().position(|&b| b == b'%' || b == b'\n' || b >= 0x80).unwrap_or(rest.len());
        let (text, code) = rest.split_at_checked(at).unwrap_or((rest, &[]));
        line.text(text);
        let Some((&mark, code)) = code.split_first() else { break };
        if mark == b'\n' {
            return code;
        }
        // The next template's marker (NOTES): this one ends.
        if mark >= 0x80 {
            break;
        }
        let Some((&code, after)) = code.split_first() else { break };
        put(line, code, values);
        rest = after;
    }
    &[]
}

/// The value `code` names.
#[inline(never)]
fn put(line: &mut Line, code: u8, values: &Values) {
    let [text0, text1] = values.text;
    let [quote0, quote1] = values.quote;
    let [signed0, signed1] = values.signed;
    match code {
        // Each pair of codes is one call, its value picked.
        b's' | b't' => drop(line.text(if code == b's' { text0 } else { text1 }.unwrap_or_default())),
        b'q' | b'r' => drop(line.quoted(if code == b'q' { quote0 } else { quote1 }.unwrap_or_default())),
        b'p' | b'c' => drop(line.signed(if code == b'p' { signed0 } else { signed1 })),
        b'n' => drop(line.num(signed1 as u64)),
        b'l' => slot_names(line),
        // A trouble's error: one copy of this text for all of them.
        b'e' => drop(render(line, b" (%r, errno %p)", values)),
        b'i' => drop(match values.id {
            Some(pid) => line.signed(pid.into()),
            None => line.str("null"),
        }),
        // An event's slot (`%s`, or `null`), up to its pid's value.
        b'J' => drop(match text0 {
            Some(name) => line.str("\",\"slot\":\"").text(name).str("\",\"pid\":"),
            None => line.str("\",\"slot\":null,\"pid\":"),
        }),
        _ => signal_name(line, signed1 as i32),
    }
}

/// Every slot's name, in start order, comma-separated: from the slot table.
pub fn slot_names(line: &mut Line) {
    for (at, slot) in Slot::ALL.iter().enumerate() {
        if at > 0 {
            line.str(", ");
        }
        line.str(slot.name());
    }
}

/// A line of the init's: `PREFIX`, `template` with `values`, the newline.
fn line(template: &str, values: &Values) -> Line {
    let mut line = Line::new();
    let _ = own_line(&mut line, template.as_bytes(), values);
    line
}

/// [`line`], after what `line` holds; returns the event template that
/// follows a note's newline, if any.
#[inline(never)]
fn own_line<'t>(line: &mut Line, template: &'t [u8], values: &Values) -> &'t [u8] {
    line.str(PREFIX);
    let event = render(line, template, values);
    line.end();
    event
}

fn name(slot: Slot) -> Option<&'static [u8]> {
    Some(slot.name().as_bytes())
}

/// The slot a note names as `%s` (and its event as its slot): every note's
/// slot but [`Note::EssentialDown`]'s (its event's slot is null). Each lies
/// at the same place in its note, so this is one load. A function of its own:
/// inlined, the optimiser copies it back into every arm of [`note`].
#[inline(never)]
fn named_slot(note: &Note) -> Option<Slot> {
    match *note {
        Note::Started { slot, .. }
        | Note::CannotStart { slot, .. }
        | Note::Died { slot, .. }
        | Note::Restarting { slot, .. }
        | Note::RestartCoalesced { slot, .. }
        | Note::RestartSkipped { slot, .. }
        | Note::RestartDropped { slot }
        | Note::RestartScheduled { slot, .. }
        | Note::Failed { slot, .. }
        | Note::Forwarded { slot, .. }
        | Note::NotForwarded { slot, .. }
        | Note::GraceExpired { slot, .. } => Some(slot),
        _ => None,
    }
}

/// The signal a note names as `%g` (`signed[1]`), as [`named_slot`]: not
/// a death's (in its [`Ended`]); its arm reads it.
#[inline(never)]
fn named_signal(note: &Note) -> Option<i32> {
    match *note {
        Note::ShuttingDown { sig, .. }
        | Note::AlreadyShuttingDown { sig }
        | Note::Restarting { sig, .. }
        | Note::RestartCoalesced { sig, .. }
        | Note::RestartSkipped { sig, .. }
        | Note::Forwarded { sig, .. }
        | Note::NotForwarded { sig, .. }
        | Note::IgnoredSignal { sig }
        | Note::Sweeping { sig } => Some(sig),
        _ => None,
    }
}

/// Every note's template, each after its marker byte: `0x80 |` the place
/// of its note among [`Note`]'s variants (declaration order), and for the
/// three notes with a second template, that one's at [`SIGNALED`],
/// [`WAS_DOWN`] and [`NOT_SELECTED`]; then the troubles' (from
/// [`TROUBLES`]). A note's event template follows its newline, if it has
/// one. Templates are ASCII, so no marker is taken for text, and [`render`]
/// stops at the next marker. One packed text instead of a template per arm
/// of [`note`] and [`trouble`]: their matches only set the values.
const NOTES: &[u8] = b"\
    \x80%s started pid=%p\nstarted%J%p\
    \x81%s cannot %t: %r (errno %p); code=%c\nexited%Jnull,\"code\":%c\
    \x82%s exited pid=%p code=%c\nexited%J%p,\"code\":%c\
    \x94%s exited pid=%p signal=%g\nexited%J%p,\"signal\":%c\
    \x83shutting down (%g); grace %p ms\nshutdown%J%i,\"signal\":%c\
    \x84%g changes nothing: already shutting down\
    \x85restarting %s pid=%p (%g)\nrestart_requested%J%p\
    \x95restarting %s, which was down, (%g)\nrestart_requested%J%i\
    \x86%s restart already pending (%g)\
    \x87%s restart skipped: shutting down (%g)\
    \x96%s restart skipped: %s is not selected (%g)\
    \x88pending %s restart dropped: shutting down\
    \x89%s restarting in %p ms (quick deaths in a row: %c)\nrestarting%J%i,\"delay_ms\":%p\
    \x8a%s failed: %p quick deaths in a row; not restarting\nfailed%J%i\
    \x8bessential %t is down; shutting down; grace %p ms\nshutdown%J%i\
    \x8c%g forwarded to %s pid=%p\nforwarded%J%p,\"signal\":%c\
    \x8d%g not forwarded: %s is not running\
    \x8e%s pid=%p outlived the grace; SIGKILL to its group\
    \x8fignoring %g\
    \x90every daemon has exited\
    \x91%g to every process left in the container\
    \x92exiting code=%p\nexit%J%i,\"code\":%p\
    \x93internal error: the action queue was full; %p actions lost\
    \x97%s output goes out unprefixed: no log pipes%e\
    \x98cannot reopen %s non-blocking; writing only what poll allows%e\
    \x99%s is gone; its lines are dropped%e\
    \x9areading a log pipe failed; output may stall%e\
    \x9bpoll failed; looking at every log pipe each 100 ms%e\
    \x9cignoring %g sent by another process\
    \x9dno spawn report pipe: a failed exec exits 127%e\
    \x9ecannot listen on the control socket; running without control%e";

/// The second templates' places in [`NOTES`]: a death by a signal, a
/// restart of a slot that was down, a restart skipped for a slot not selected.
const SIGNALED: u8 = 20;
const WAS_DOWN: u8 = 21;
const NOT_SELECTED: u8 = 22;
/// The troubles' places in [`NOTES`]: from here on, in [`Trouble`]'s order.
const TROUBLES: u8 = 23;

// [`NOTES`] checked at build time (no code in the binary): it opens with a
// marker; every byte above 0x7f is a marker, and each of the 31 (the notes',
// the second templates', the 8 troubles') is there once, so a non-ASCII
// character in a template (which `render` would take for the template's
// end) or a marker typed twice or left out (which `packed` would answer
// with another template) fails the build; no template ends in `%` (the
// next marker would be read as its code).
const _: () = {
    let mut rest = NOTES;
    let mut seen: u32 = 0;
    let mut before = 0x80;
    while let [byte, after @ ..] = rest {
        if *byte >= 0x80 {
            let bit = 1u32 << (*byte & 0x1f);
            assert!(*byte < 0x80 | (TROUBLES + 8) && seen & bit == 0, "NOTES: a marker twice or out of range");
            assert!(before != b'%', "NOTES: a template ends in %");
            seen |= bit;
        } else {
            assert!(before != 0x80 || seen != 0, "NOTES: text before the first marker");
        }
        before = *byte;
        rest = after;
    }
    assert!(before != b'%', "NOTES: the last template ends in %");
    assert!(seen == u32::MAX >> (32 - (TROUBLES + 8)), "NOTES: a marker is missing");
};

/// The template at `place` in [`NOTES`], up to its end (the next marker or
/// the text's): always there, a test renders every note and trouble.
#[inline(never)]
fn packed(place: u8) -> &'static [u8] {
    let marker = 0x80 | place;
    let at = NOTES.iter().position(|&b| b == marker).unwrap_or_default();
    NOTES.get(at.wrapping_add(1)..).unwrap_or_default()
}

/// A note's place among [`Note`]'s variants: its template's in [`NOTES`].
fn place(note: &Note) -> u8 {
    match note {
        Note::Started { .. } => 0,
        Note::CannotStart { .. } => 1,
        Note::Died { .. } => 2,
        Note::ShuttingDown { .. } => 3,
        Note::AlreadyShuttingDown { .. } => 4,
        Note::Restarting { .. } => 5,
        Note::RestartCoalesced { .. } => 6,
        Note::RestartSkipped { .. } => 7,
        Note::RestartDropped { .. } => 8,
        Note::RestartScheduled { .. } => 9,
        Note::Failed { .. } => 10,
        Note::EssentialDown { .. } => 11,
        Note::Forwarded { .. } => 12,
        Note::NotForwarded { .. } => 13,
        Note::GraceExpired { .. } => 14,
        Note::IgnoredSignal { .. } => 15,
        Note::AllDown => 16,
        Note::Sweeping { .. } => 17,
        Note::Exiting { .. } => 18,
        Note::ActionsLost { .. } => 19,
    }
}

/// One note as a whole line, newline included.
#[inline(never)]
pub fn note(note: &Note, context: &impl Context, event: Option<(&mut Line, u64)>) -> Line {
    let mut who = Line::new();
    let mut v = Values::default();
    // The slot's name, read once here instead of in each arm, and its
    // last pid (`%i`), which only the events of a restart of a slot that
    // was down, a scheduled restart and a failure name.
    if let Some(slot) = named_slot(note) {
        v.text[0] = name(slot);
        v.id = context.last_pid(slot);
    }
    if let Some(sig) = named_signal(note) {
        v.signed[1] = sig.into();
    }
    let mut template = place(note);
    match *note {
        Note::Started { pid, .. } | Note::Forwarded { pid, .. } | Note::GraceExpired { pid, .. } => {
            v.signed[0] = pid.into();
        }
        Note::CannotStart { slot, errno, code } => {
            // What failed, rendered first with the note's values (before they
            // take the errno and code): a negative errno is the uid/gid
            // switch's (sys::spawn), not the exec's.
            let (errno, what): (i32, &[u8]) = match context.user(slot) {
                Some(User { uid, gid }) if errno < 0 => {
                    v.signed = [uid.into(), gid.into()];
                    (errno.wrapping_neg(), b"switch to uid %p gid %c")
                }
                // Quoted, so even an unexpected program leaves room for the code.
                _ => {
                    v.quote[0] = Some(context.program(slot));
                    (errno, b"start %q")
                }
            };
            render(&mut who, what, &v);
            v.text[1] = Some(who.as_bytes());
            // The error text quoted too, for the same reason; as an event:
            // its code, and no process.
            v.quote[1] = Some(context.error_text(errno));
            v.signed = [errno.into(), code.into()];
        }
        Note::Died { pid, ended, .. } => {
            v.signed[0] = pid.into();
            let (Ended::Exited(number) | Ended::Signaled(number)) = ended;
            v.signed[1] = number.into();
            if let Ended::Signaled(_) = ended {
                template = SIGNALED;
            }
        }
        Note::ShuttingDown { grace_ms, .. } | Note::EssentialDown { grace_ms, .. } => {
            v.signed[0] = grace_ms.into();
            // `%t`: the event's slot is null.
            if let Note::EssentialDown { slot, .. } = *note {
                v.text[1] = name(slot);
            }
        }
        Note::Restarting { pid, .. } => match pid {
            Some(pid) => v.signed[0] = pid.into(),
            None => template = WAS_DOWN,
        },
        Note::RestartSkipped { why: Skip::NotSelected, .. } => template = NOT_SELECTED,
        Note::RestartScheduled { delay_ms, deaths, .. } => v.signed = [delay_ms.into(), deaths.into()],
        Note::Failed { deaths, .. } => v.signed[0] = deaths.into(),
        Note::Exiting { code } => v.signed[0] = code.into(),
        Note::ActionsLost { count } => v.signed[0] = count.into(),
        _ => {}
    }
    let template = packed(template);
    // The note's line; the event's template follows its newline, if it is one.
    let mut line = Line::new();
    let json = own_line(&mut line, template, &v);
    if let (Some((out, ts)), false) = (event, json.is_empty()) {
        out.str("{\"event\":\"");
        render(out, json, &v);
        out.str(",\"ts\":").num(ts).str("}\n");
    }
    line
}

#[inline(never)]
pub fn config_error(error: &ConfigError) -> Line {
    // The variable's whole name: its prefix and short name, each kept once.
    let mut name = Line::new();
    let [kind, rest] = error.variable.short_name();
    name.str(VAR_PREFIX).str(kind).str(rest);
    let mut v = Values { text: [Some(name.as_bytes()), None], quote: [Some(error.value), None], ..Values::default() };
    let template = match error.problem {
        Problem::UnknownSlot(name) => {
            v.quote[1] = Some(name);
            "%s='%q' names no slot '%r'; accepted: comma-separated names among %l"
        }
        Problem::Command(why) => {
            v.text[1] = Some(match why {
                WordsError::NoWords => b"has no words",
                WordsError::UnbalancedQuote => b"has an unbalanced quote",
                WordsError::TooLong => b"is too long",
                WordsError::TooManyWords => b"has too many words",
            });
            // The limits as written in the template (no values to store):
            // the build fails if they change without it.
            const _: () = assert!(MAX_WORDS == 64 && MAX_COMMAND_BYTES - 1 == 2047);
            "%s='%q' %t; accepted: at most 64 words and 2047 bytes, POSIX shell quoting, no expansion"
        }
        // The numbers: one template, their bounds and unit picked.
        Problem::Grace | Problem::RestartDelay | Problem::RestartLimit => {
            let (max, default, unit): (u32, u32, &[u8]) = match error.problem {
                Problem::Grace => (MAX_GRACE_MS, DEFAULT_GRACE_MS, b"milliseconds"),
                Problem::RestartDelay => (MAX_DELAY_MS, DEFAULT_DELAY_MS, b"milliseconds"),
                _ => (MAX_LIMIT.into(), DEFAULT_LIMIT.into(), b"0: no limit"),
            };
            v.signed = [max.into(), default.into()];
            v.text[1] = Some(unit);
            "%s='%q' is not accepted: ASCII digits only, 0 to %p (%t); empty means %c"
        }
        Problem::LogPrefix => "%s='%q' is not accepted: 1 ([slot] prefix) or 0 (none); empty means 1",
        Problem::User => {
            "%s='%q' is not accepted: UID or UID:GID, numeric only, each 0 to 4294967294; empty means as the init"
        }
        Problem::Control => {
            "%s='%q' is not accepted: @NAME (an abstract socket), an absolute path or off, at most 107 bytes; empty means @sidecar-init"
        }
        Problem::Private(bad) => {
            v.quote[1] = Some(bad);
            "%s='%q' has a bad name '%r'; accepted: comma-separated names [A-Za-z_][A-Za-z0-9_]*, each may end in *"
        }
    };
    line(template, &v)
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
    let mut v = Values::default();
    let template = match what {
        // The variable's name written out: no call to build it.
        Startup::NothingSelected { value } => {
            v.quote[0] = Some(value);
            "no daemon selected (CLAUDE_BOTTLE_SIDECAR_DAEMONS='%q'); nothing to run, exiting"
        }
        Startup::NoSignalFd => "cannot open a signalfd; exiting",
        Startup::NoMemory => "no memory for output buffers; exiting",
        Startup::NotSubreaper => "cannot become a subreaper; orphans go to the real init",
        Startup::FaultsNotCaught => "cannot catch fault signals; a sent one would kill the init",
    };
    line(template, &v)
}

/// A client subcommand that got no answer: control is off (`addr` is
/// empty), connecting failed with `errno` (described by `text`), or (0)
/// the init closed unanswered.
pub fn no_answer(addr: &[u8], errno: i32, text: &[u8]) -> Line {
    let v = Values { quote: [Some(addr), Some(text)], signed: [errno.into(), 0], ..Values::default() };
    let template = match (addr, errno) {
        // The variable's name written out: no call to build it.
        ([], _) => "control is off (CLAUDE_BOTTLE_SIDECAR_CONTROL=off)",
        (_, 0) => "no init answers at '%q'",
        _ => "no init answers at '%q': %r (errno %p)",
    };
    line(template, &v)
}

/// An argument that is not accepted, and `--help`'s usage line (its first
/// line: its text is kept once in the binary).
#[inline(never)]
pub fn usage_error(argument: &[u8]) -> Line {
    let [help, _] = crate::cli::help();
    let end = help.iter().position(|&b| b == b'\n').unwrap_or(help.len());
    let v = Values { text: [help.get(..end), None], quote: [Some(argument), None], ..Values::default() };
    line("arguments '%q' not accepted; %s", &v)
}

/// A trouble of the init's, logged once.
pub fn trouble(trouble: &Trouble, context: &impl Context) -> Line {
    let mut v = Values::default();
    let (place, errno) = match *trouble {
        Trouble::Unprefixed { slot, errno } => {
            v.text[0] = name(slot);
            (0, errno)
        }
        Trouble::SharedOutput { sink, errno } => {
            v.text[0] = Some(sink_name(sink));
            (1, errno)
        }
        Trouble::OutputGone { sink, errno } => {
            v.text[0] = Some(sink_name(sink));
            (2, errno)
        }
        Trouble::ReadFailed { errno } => (3, errno),
        Trouble::PollFailed { errno } => {
            const _: () = assert!(DEGRADED_WAKE_MS == 100, "the template says 100 ms");
            (4, errno)
        }
        Trouble::SentFault { sig } => {
            v.signed[1] = sig.into();
            (5, 0)
        }
        Trouble::NoReport { errno } => (6, errno),
        Trouble::NoControl { errno } => (7, errno),
    };
    v.quote[1] = Some(context.error_text(errno));
    v.signed[0] = errno.into();
    let mut line = Line::new();
    let _ = own_line(&mut line, packed(TROUBLES.wrapping_add(place)), &v);
    line
}

fn sink_name(sink: SinkId) -> &'static [u8] {
    match sink {
        SinkId::Stdout => b"stdout",
        SinkId::Stderr => b"stderr",
    }
}

/// Said where lines went missing, once the output drains again.
#[inline(never)]
pub fn lines_dropped(count: u64) -> Line {
    line("%n lines dropped while output was blocked", &Values { signed: [0, count as i64], ..Values::default() })
}

/// The last line at exit when the readers did not take everything in time.
#[inline(never)]
pub fn exit_with_lost_lines(code: u8, lost: u64, mid_line: bool) -> Line {
    let mut line = Line::new();
    if mid_line {
        line.str("\n");
    }
    let v = Values { signed: [code.into(), lost as i64], ..Values::default() };
    own_line(&mut line, b"exiting code=%p; %n lines of output dropped: not taken by the exit deadline", &v);
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::config::{Variable, GRACE_VAR};

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
            text(note(&Note::Started { slot: Slot::Egress, pid: 7 }, &Fake, None)),
            "sidecar-init: egress started pid=7\n"
        );
        assert_eq!(
            text(note(&Note::Died { slot: Slot::Pipelock, pid: 9, ended: Ended::Exited(1) }, &Fake, None)),
            "sidecar-init: pipelock exited pid=9 code=1\n"
        );
        assert_eq!(
            text(note(&Note::ShuttingDown { sig: libc::SIGTERM, grace_ms: 8000 }, &Fake, None)),
            "sidecar-init: shutting down (SIGTERM); grace 8000 ms\n"
        );
    }

    #[test]
    fn deaths_by_signal_and_start_failures_name_the_cause() {
        assert_eq!(
            text(note(&Note::Died { slot: Slot::GitGate, pid: 3, ended: Ended::Signaled(9) }, &Fake, None)),
            "sidecar-init: git-gate exited pid=3 signal=SIGKILL\n"
        );
        assert_eq!(
            text(note(&Note::CannotStart { slot: Slot::Egress, errno: 2, code: 127 }, &Fake, None)),
            "sidecar-init: egress cannot start /app/egress-entrypoint.sh: No such file or directory (errno 2); code=127\n"
        );
    }

    #[test]
    fn restart_policy_notes_read_as_the_spec_and_the_issue_say() {
        assert_eq!(
            text(note(&Note::Failed { slot: Slot::Pipelock, deaths: 6 }, &Fake, None)),
            "sidecar-init: pipelock failed: 6 quick deaths in a row; not restarting\n"
        );
        assert_eq!(
            text(note(&Note::RestartScheduled { slot: Slot::Pipelock, delay_ms: 500, deaths: 1 }, &Fake, None)),
            "sidecar-init: pipelock restarting in 500 ms (quick deaths in a row: 1)\n"
        );
        assert_eq!(
            text(note(&Note::EssentialDown { slot: Slot::Egress, grace_ms: 8000 }, &Fake, None)),
            "sidecar-init: essential egress is down; shutting down; grace 8000 ms\n"
        );
        assert_eq!(
            text(note(&Note::Restarting { slot: Slot::GitGate, pid: Some(12), sig: 37 }, &Fake, None)),
            "sidecar-init: restarting git-gate pid=12 (SIGRTMIN+3)\n"
        );
    }

    #[test]
    fn restart_policy_errors_say_what_is_accepted() {
        let error = ConfigError { variable: Variable::RestartLimit, value: b"1001", problem: Problem::RestartLimit };
        assert_eq!(
            text(config_error(&error)),
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT='1001' is not accepted: ASCII digits only, 0 to 1000 \
             (0: no limit); empty means 5\n"
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
    fn troubles_end_with_their_error_but_a_sent_fault() {
        assert_eq!(
            text(trouble(&Trouble::OutputGone { sink: SinkId::Stderr, errno: 32 }, &Fake)),
            "sidecar-init: stderr is gone; its lines are dropped (No such file or directory, errno 32)\n"
        );
        assert_eq!(
            text(trouble(&Trouble::SentFault { sig: 11 }, &Fake)),
            "sidecar-init: ignoring SIGSEGV sent by another process\n"
        );
    }

    #[test]
    fn the_variables_written_out_in_templates_are_the_configurations() {
        // DAEMONS' and CONTROL's names are written in their templates, not
        // built: they must stay the names the configuration reads.
        assert_eq!(
            text(startup(Startup::NothingSelected { value: b" , " })),
            format!("{PREFIX}no daemon selected ({}=' , '); nothing to run, exiting\n", Variable::Daemons.name())
        );
        assert_eq!(
            text(no_answer(b"", 0, b"")),
            format!("{PREFIX}control is off ({}=off)\n", Variable::Control.name())
        );
    }

    #[test]
    fn every_trouble_has_its_own_template() {
        // The templates are packed by the troubles' order (TROUBLES): each
        // one's line, checked whole.
        let e = "(No such file or directory, errno";
        for (t, expected) in [
            (
                Trouble::Unprefixed { slot: Slot::GitGate, errno: 24 },
                format!("git-gate output goes out unprefixed: no log pipes {e} 24)"),
            ),
            (
                Trouble::SharedOutput { sink: SinkId::Stdout, errno: 11 },
                format!("cannot reopen stdout non-blocking; writing only what poll allows {e} 11)"),
            ),
            (
                Trouble::OutputGone { sink: SinkId::Stderr, errno: 32 },
                format!("stderr is gone; its lines are dropped {e} 32)"),
            ),
            (Trouble::ReadFailed { errno: 5 }, format!("reading a log pipe failed; output may stall {e} 5)")),
            (Trouble::PollFailed { errno: 4 }, format!("poll failed; looking at every log pipe each 100 ms {e} 4)")),
            (Trouble::SentFault { sig: 11 }, "ignoring SIGSEGV sent by another process".to_string()),
            (Trouble::NoReport { errno: 24 }, format!("no spawn report pipe: a failed exec exits 127 {e} 24)")),
            (
                Trouble::NoControl { errno: 98 },
                format!("cannot listen on the control socket; running without control {e} 98)"),
            ),
        ] {
            assert_eq!(text(trouble(&t, &Fake)), format!("{PREFIX}{expected}\n"));
        }
    }

    #[test]
    fn real_time_signals_use_dockers_names() {
        assert_eq!(text(note(&Note::IgnoredSignal { sig: 36 }, &Fake, None)), "sidecar-init: ignoring SIGRTMIN+2\n");
        assert_eq!(text(note(&Note::IgnoredSignal { sig: 34 }, &Fake, None)), "sidecar-init: ignoring SIGRTMIN\n");
        assert_eq!(text(note(&Note::IgnoredSignal { sig: 32 }, &Fake, None)), "sidecar-init: ignoring signal 32\n");
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
        assert!(line.len() < crate::logic::line::LINE_BYTES, "{} bytes: cut by the line's end", line.len());
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
        let line = text(note(&Note::CannotStart { slot: Slot::Supervise, errno: 2, code: 127 }, &context, None));
        assert_whole(&line, ": No such file or directory (errno 2); code=127\n");
        assert!(line.contains(r"\x01\x01..."), "the program is cut with a marker: {line:?}");
    }

    #[test]
    fn a_failed_switch_names_the_uid_and_gid_not_the_program() {
        // sys::spawn hands the switch's errno back negated.
        assert_eq!(
            text(note(&Note::CannotStart { slot: Slot::Pipelock, errno: -1, code: 126 }, &Operation, None)),
            "sidecar-init: pipelock cannot switch to uid 1000 gid 1001: Operation not permitted (errno 1); code=126\n"
        );
        // An exec error of a slot with a user still names the program.
        assert_eq!(
            text(note(&Note::CannotStart { slot: Slot::Pipelock, errno: 13, code: 126 }, &Operation, None)),
            "sidecar-init: pipelock cannot start /usr/local/bin/pipelock: Operation not permitted (errno 13); code=126\n"
        );
        let context = Worst {
            program: vec![0xff; 4000],
            error: vec![0x80; 4000],
            user: Some(User { uid: u32::MAX, gid: u32::MAX }),
        };
        let line =
            text(note(&Note::CannotStart { slot: Slot::Supervise, errno: i32::MIN + 1, code: 126 }, &context, None));
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
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_USER_PIPELOCK='nobody' is not accepted: UID or UID:GID, numeric only, \
             each 0 to 4294967294; empty means as the init\n"
        );
        let error = ConfigError {
            variable: Variable::Private(Slot::Egress),
            value: b"EGRESS_TOKEN_*, *",
            problem: Problem::Private(b"*"),
        };
        assert_eq!(
            text(config_error(&error)),
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_PRIVATE_EGRESS='EGRESS_TOKEN_*, *' has a bad name '*'; accepted: \
             comma-separated names [A-Za-z_][A-Za-z0-9_]*, each may end in *\n"
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
                Note::CannotStart { slot, errno: i32::MIN, code: u8::MAX.into() },
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
                Note::ActionsLost { count: u32::MAX },
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
                    Note::ActionsLost { .. } => "4294967295 actions lost".to_string(),
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
                let line = text(note(&n, &context, None));
                assert!(line.starts_with(PREFIX), "{line:?}");
                assert_whole(&line, &format!("{tail}\n"));
            }
        }
    }

    #[test]
    fn every_config_error_keeps_what_is_accepted_with_worst_case_values() {
        let long = [0xffu8; 4000];
        let accepted_command = " bytes, POSIX shell quoting, no expansion\n";
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
                "0 to 1000 (0: no limit); empty means 5\n",
            ),
            (
                ConfigError { variable: Variable::LogPrefix, value: &long, problem: Problem::LogPrefix },
                "0 (none); empty means 1\n",
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
                "each may end in *\n",
            ));
        }
        for (error, tail) in cases {
            let line = text(config_error(&error));
            assert!(line.starts_with(&format!("{PREFIX}{}='", error.variable.name())), "{line:?}");
            assert_whole(&line, tail);
        }
    }
}
