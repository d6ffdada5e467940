//! The control socket's protocol, free of I/O: requests, the `status` and
//! `health` answers, and what an `events` client is owed (events
//! themselves are rendered with the notes, in `report::note`).
//!
//! The socket is SOCK_SEQPACKET: every request and answer is one message.
//! A client connects and sends one request, of fewer than
//! [`REQUEST_BYTES`] bytes and no newline: `status`, `health`, `events`,
//! `restart SLOT` or `signal SLOT SIGNAL`, words separated by one space.
//! The init answers with one message, `ok` or `no` on a line of its own
//! then text lines, and closes the connection; to `events` it answers
//! `ok\n`, then one message per event, a JSON object and its newline,
//! until it exits. Anything else is closed unanswered.

use super::config::parse_digits;
use super::line::Line;
use super::machine::{Bundle, Millis, Note, SlotState, SlotView, REQUESTED};
use super::signals;
use super::slot::Slot;
use crate::sys::bytes::find;

/// Bytes the init reads of a request: more than the longest request,
/// `signal supervise SIGVTALRM` (26), so that a longer message, which the
/// read cuts to this, is never taken for one.
pub const REQUEST_BYTES: usize = 64;
/// Clients served at once.
pub const MAX_CLIENTS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    Health,
    Events,
    /// `restart SLOT` (`sig` is [`REQUESTED`]) or `signal SLOT SIGNAL`:
    /// the machine's [`Event::Requested`](super::machine::Event::Requested).
    ToSlot(Slot, i32),
}

/// One request message.
#[inline(never)]
pub fn parse_request(line: &[u8]) -> Option<Request> {
    let request = match first_word(line) {
        (b"status", None) => Request::Status,
        (b"health", None) => Request::Health,
        (b"events", None) => Request::Events,
        (b"restart", Some(slot)) => Request::ToSlot(Slot::from_name(slot)?, REQUESTED),
        (b"signal", Some(rest)) => {
            let (slot, sig) = first_word(rest);
            Request::ToSlot(Slot::from_name(slot)?, parse_signal(sig?)?)
        }
        _ => return None,
    };
    Some(request)
}

/// The first word of `words` and what follows its space, if one does.
fn first_word(words: &[u8]) -> (&[u8], Option<&[u8]>) {
    match find(words, b' ') {
        Some(at) => (words.get(..at).unwrap_or_default(), words.get(at.saturating_add(1)..)),
        None => (words, None),
    }
}

/// `HUP`, `SIGHUP` (the classic names, upper case) or a number 1 to 64.
fn parse_signal(word: &[u8]) -> Option<i32> {
    let name = word.strip_prefix(b"SIG").unwrap_or(word);
    let number = parse_digits(word, 64).and_then(|n| i32::try_from(n).ok());
    (1..=64).find(|&sig| signals::name(sig) == Some(name) || number == Some(sig))
}

/// Sends `line` (if any) to an `events` client with `send` (true: its
/// socket took the message), which lost `dropped` events since it last
/// took one: first `{"event":"dropped","count":N}` if it lost any, and
/// nothing new until that count went out, so that it comes before the
/// events after the gap.
#[inline(never)]
pub fn deliver(dropped: &mut u64, line: Option<&[u8]>, mut send: impl FnMut(&[u8]) -> bool) {
    if *dropped > 0 {
        let mut notice = Line::new();
        notice.str("{\"event\":\"dropped\",\"count\":").num(*dropped).str("}\n");
        if send(notice.as_bytes()) {
            *dropped = 0;
        }
    }
    if let Some(line) = line {
        if *dropped > 0 || !send(line) {
            *dropped = dropped.saturating_add(1);
        }
    }
}

/// Names of [`Bundle`]s, then of [`SlotState`]s, by [`state_index`].
const STATE_NAMES: [&str; 9] =
    ["running", "stopping", "sweeping", "up", "starting", "stopping", "waiting", "down", "failed"];

fn state_name(at: usize) -> &'static str {
    STATE_NAMES.get(at).copied().unwrap_or_default()
}

fn state_index(state: SlotState) -> usize {
    match state {
        SlotState::Up => 3,
        SlotState::Starting => 4,
        SlotState::Stopping => 5,
        SlotState::Waiting { .. } => 6,
        SlotState::Down => 7,
        SlotState::Failed => 8,
    }
}

/// ` key=N` and `unit`, or ` key=-` without a value.
#[inline(never)]
fn field(line: &mut Line, key: &str, value: Option<u64>, unit: &str) {
    line.str(" ").str(key).str("=");
    match value {
        Some(value) => line.num(value).str(unit),
        None => line.str("-"),
    };
}

/// Whole seconds from `since` to `now`.
fn uptime(since: Option<Millis>, now: Millis) -> Option<u64> {
    since.map(|at| now.saturating_sub(at) / 1000)
}

/// The answer to `status` (`health: false`) into `line`: `ok`, a line for
/// the bundle and one per selected slot, `bundle running uptime=12s`,
/// `egress up pid=7 uptime=12s restarts=0 code=-`. To `health`: `ok` and
/// `healthy` when the bundle runs and every selected slot is up; otherwise
/// `no` and what is not, `unhealthy: pipelock down, git-gate starting`.
/// `since`: when the init started; `now`: the monotonic clock.
#[inline(never)]
pub fn status(
    bundle: Bundle,
    views: impl Iterator<Item = (Slot, SlotView)>,
    health: bool,
    (since, now): (Millis, Millis),
    line: &mut Line,
) {
    // What is not up, or (status) everything, separated as each answer wants.
    let mut items = Line::new();
    let separator = if health { ", " } else { "\n" };
    if !(health && bundle == Bundle::Running) {
        items.str("bundle ").str(state_name(bundle as usize));
        if !health {
            field(&mut items, "uptime", uptime(Some(since), now), "s");
        }
    }
    for (slot, view) in views {
        if !view.selected || (health && view.state == SlotState::Up) {
            continue;
        }
        if !items.as_bytes().is_empty() {
            items.str(separator);
        }
        items.str(slot.name()).str(" ").str(state_name(state_index(view.state)));
        if !health {
            field(&mut items, "pid", view.pid.map(|pid| pid.unsigned_abs().into()), "");
            field(&mut items, "uptime", uptime(view.started_at, now), "s");
            field(&mut items, "restarts", Some(view.restarts.into()), "");
            field(&mut items, "code", view.last_code.map(u64::from), "");
        }
    }
    if !health {
        line.str("ok\n");
    } else if items.as_bytes().is_empty() {
        line.str("ok\nhealthy");
    } else {
        line.str("no\nunhealthy: ");
    }
    line.text(items.as_bytes()).end();
}

/// Whether a note answers a restart or signal request: accepted (`true`),
/// refused (`false`); `None`: not an answer.
pub fn verdict(note: &Note) -> Option<bool> {
    match note {
        Note::Restarting { .. } | Note::RestartCoalesced { .. } | Note::Forwarded { .. } => Some(true),
        Note::RestartSkipped { .. } | Note::NotForwarded { .. } => Some(false),
        _ => None,
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
