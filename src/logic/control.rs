//! The control socket's protocol, free of I/O: requests, the `status` and
//! `health` answers, and what waits for an `events` client (events
//! themselves are rendered with the notes, in `report::note`).
//!
//! A client connects and sends one request line, in one write, of at most
//! [`REQUEST_BYTES`] bytes before its `\n`: `status`, `health`, `events`,
//! `restart SLOT` or `signal SLOT SIGNAL`, words separated by one space.
//! The init answers `ok` or `no` on a line of its own, then text lines,
//! and closes the connection; to `events` it answers `ok`, then one JSON
//! object per line until it exits. Anything else is closed unanswered.

use super::config::parse_digits;
use super::line::Line;
use super::machine::{Bundle, Millis, Note, SlotState, SlotView, REQUESTED};
use super::signals;
use super::slot::Slot;
use crate::sys::bytes::{copy, find, move_to_front};

/// Bytes of a request line, its `\n` aside: the longest request,
/// `signal supervise SIGVTALRM`, is 26.
pub const REQUEST_BYTES: usize = 64;
/// Clients served at once.
pub const MAX_CLIENTS: usize = 8;
/// Bytes an `events` client may have waiting (whole lines); past that its
/// events are counted as dropped.
pub const OUTBOX_BYTES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    Health,
    Events,
    /// `restart SLOT` (`sig` is [`REQUESTED`]) or `signal SLOT SIGNAL`:
    /// the machine's [`Event::Requested`](super::machine::Event::Requested).
    ToSlot(Slot, i32),
}

/// One request line, its `\n` removed.
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

/// What an `events` client's socket did not take yet (whole lines), in the
/// caller's memory, and how many events were lost since.
pub struct Outbox<'a> {
    bytes: &'a mut [u8],
    len: usize,
    dropped: u64,
}

impl<'a> Outbox<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        Outbox { bytes, len: 0, dropped: 0 }
    }

    /// Empty again, for the next client.
    pub fn clear(&mut self) {
        self.len = 0;
        self.dropped = 0;
    }

    /// Queues a whole line, or counts it lost when it does not fit or when
    /// earlier ones were lost and the client has not caught up yet.
    #[inline(never)]
    pub fn push(&mut self, line: &[u8]) {
        let end = self.len.saturating_add(line.len());
        match self.bytes.get_mut(self.len..end).filter(|_| self.dropped == 0) {
            Some(room) => self.len = self.len.saturating_add(copy(room, line)),
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    pub fn pending(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// `n` bytes of [`Outbox::pending`] went out. Once all did, a client
    /// that lost events gets `{"event":"dropped","count":N}`.
    #[inline(never)]
    pub fn sent(&mut self, n: usize) {
        self.len = move_to_front(self.bytes, n.min(self.len), self.len);
        if self.len == 0 && self.dropped > 0 {
            let mut line = Line::new();
            line.str("{\"event\":\"dropped\",\"count\":").num(self.dropped).str("}\n");
            self.dropped = 0;
            self.push(line.as_bytes());
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
