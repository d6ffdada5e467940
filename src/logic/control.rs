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

/// The verbs, by index: the first three take no word, `restart` a slot,
/// `signal` a slot and a signal.
const VERBS: &[u8; 35] = b"status health events restartsignal ";

/// One request message: a verb, then its words, each after one space.
#[inline(never)]
pub fn parse_request(message: &[u8]) -> Option<Request> {
    let mut rest = Some(message);
    let verb = word(&mut rest)?;
    let verb = (0..5).find(|&at| signals::packed(VERBS, 7, at) == verb)?;
    let request = match verb {
        0 => Request::Status,
        1 => Request::Health,
        2 => Request::Events,
        _ => {
            let slot = Slot::from_name(word(&mut rest)?)?;
            let mut sig = REQUESTED;
            if verb == 4 {
                sig = parse_signal(word(&mut rest)?)?;
            }
            Request::ToSlot(slot, sig)
        }
    };
    // Every word used, and no more.
    rest.is_none().then_some(request)
}

/// The next word of `rest`, which keeps what follows its space, if one
/// does; `None` after the last.
fn word<'a>(rest: &mut Option<&'a [u8]>) -> Option<&'a [u8]> {
    let text = rest.take()?;
    match text.iter().position(|&b| b == b' ') {
        Some(at) => {
            *rest = text.get(at.wrapping_add(1)..);
            text.get(..at)
        }
        None => Some(text),
    }
}

/// `HUP`, `SIGHUP` (the classic names, upper case) or a number 1 to 64.
fn parse_signal(word: &[u8]) -> Option<i32> {
    if let Some(number) = parse_digits(word, 64) {
        return i32::try_from(number).ok().filter(|&sig| sig > 0);
    }
    // Not `strip_prefix`: a second caller of `split_at` (privilege::find's
    // `strip_suffix` is the other) leaves it a function of its own on
    // aarch64, whose panic path the optimiser cannot remove.
    let name = match word.split_at_checked(3) {
        Some((b"SIG", name)) => name,
        _ => word,
    };
    (1..32).find(|&sig| signals::name(sig) == Some(name))
}

/// Sends `line` (if any) to an `events` client with `send` (true: its
/// socket took the message), which lost `dropped` events since it last
/// took one: first `{"event":"dropped","count":N}` if it lost any, and
/// nothing new until that count went out, so that it comes before the
/// events after the gap.
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
const STATE_NAMES: &[u8; 72] = b"running stoppingsweepingup      startingstoppingwaiting down    failed  ";

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

/// A value a slot does not have (no number it has comes near).
const NONE: u64 = u64::MAX;

/// `key`, then `value`, or `-` for [`NONE`].
#[inline(never)]
fn field(line: &mut Line, key: &str, value: u64) {
    line.str(key);
    if value == NONE {
        line.str("-");
    } else {
        line.num(value);
    }
}

/// `uptime=`: since `started`, in seconds.
#[inline(never)]
fn uptime(line: &mut Line, started: Option<Millis>, now: Millis) {
    field(line, " uptime=", started.map_or(NONE, |at| now.saturating_sub(at) / 1000));
    if started.is_some() {
        line.str("s");
    }
}

/// One item of the answer, its name and state (by [`state_index`]) after
/// those before it (`head`: where the first goes): to `health` only what
/// is not up, and no details. Returns whether its details follow.
#[inline(never)]
fn item(line: &mut Line, head: usize, health: bool, name: &str, state: usize) -> bool {
    // Bundle::Running is 0, SlotState::Up is 3.
    if health && (state == 0 || state == 3) {
        return false;
    }
    if line.as_bytes().len() > head {
        line.str(if health { ", " } else { "\n" });
    }
    line.str(name).str(" ").text(signals::packed(STATE_NAMES, 8, state));
    !health
}

/// The answer to `status` (`health: false`) into `line`: `ok`, a line for
/// the bundle and one per selected slot, `bundle running uptime=12s`,
/// `egress up pid=7 uptime=12s restarts=0 code=-`. To `health`: `ok` and
/// `healthy` when the bundle runs and every selected slot is up; otherwise
/// `no` and what is not, `unhealthy: pipelock down, git-gate starting`.
/// `view`: a slot's; `since`: when the init started; `now`: the monotonic
/// clock.
pub fn status(
    bundle: Bundle,
    view: impl Fn(Slot) -> SlotView,
    health: bool,
    (since, now): (Millis, Millis),
    line: &mut Line,
) {
    // The answer goes straight into `line`, after a head that stays unless
    // `health` finds nothing to name (then the line starts afresh).
    line.str(if health { "no\nunhealthy: " } else { "ok\n" });
    let head = line.as_bytes().len();
    if item(line, head, health, "bundle", bundle as usize) {
        uptime(line, Some(since), now);
    }
    for &slot in &Slot::ALL {
        let view = view(slot);
        if view.selected && item(line, head, health, slot.name(), state_index(view.state)) {
            field(line, " pid=", view.pid.map_or(NONE, |pid| pid.unsigned_abs().into()));
            uptime(line, view.started_at, now);
            field(line, " restarts=", view.restarts.into());
            field(line, " code=", view.last_code.map_or(NONE, u64::from));
        }
    }
    if line.as_bytes().len() == head && health {
        *line = Line::new();
        line.str("ok\nhealthy");
    }
    line.end();
}

/// Whether a note answers a restart or signal request: accepted (`true`),
/// refused (`false`); `None`: not an answer. Not inlined: inlined, the
/// answer's `ok` or `no` became a table of both by note (72 bytes).
#[inline(never)]
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
