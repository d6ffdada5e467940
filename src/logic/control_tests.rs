//! The control protocol: requests, what an `events` client loses, `status`
//! and `health` for every slot state, every event's JSON.

use super::*;
use crate::logic::machine::{Ended, Pid};
use crate::logic::report::{self, Context};
use crate::logic::slot::PerSlot;

/// What `status` answers from.
struct Status {
    bundle: Bundle,
    since: Millis,
    now: Millis,
    slots: PerSlot<SlotView>,
}

fn answer_to(status: &Status, health: bool) -> String {
    let mut line = Line::new();
    super::status(status.bundle, |slot| *status.slots.get(slot), health, (status.since, status.now), &mut line);
    text(&line)
}

fn text(line: &Line) -> String {
    String::from_utf8(line.as_bytes().to_vec()).unwrap()
}

#[test]
fn good_requests_parse() {
    let cases = [
        ("status", Request::Status),
        ("health", Request::Health),
        ("events", Request::Events),
        ("restart git-gate", Request::ToSlot(Slot::GitGate, REQUESTED)),
        ("restart egress", Request::ToSlot(Slot::Egress, REQUESTED)),
        ("signal egress HUP", Request::ToSlot(Slot::Egress, 1)),
        ("signal egress SIGHUP", Request::ToSlot(Slot::Egress, 1)),
        ("signal pipelock KILL", Request::ToSlot(Slot::Pipelock, 9)),
        ("signal supervise SIGSYS", Request::ToSlot(Slot::Supervise, 31)),
        ("signal supervise 1", Request::ToSlot(Slot::Supervise, 1)),
        ("signal supervise 64", Request::ToSlot(Slot::Supervise, 64)),
        ("signal supervise 034", Request::ToSlot(Slot::Supervise, 34)),
    ];
    for (line, request) in cases {
        assert_eq!(parse_request(line.as_bytes()), Some(request), "{line:?}");
    }
}

#[test]
fn bad_requests_do_not_parse() {
    for line in [
        "",
        " ",
        "Status",
        "status ",
        " status",
        "status now",
        "stat",
        "statusx",
        "health egress",
        "events all",
        "restart",
        "restart ",
        "restart proxy",
        "restart Egress",
        "restart egress pipelock",
        "restart  egress",
        "restart egress ",
        "signal",
        "signal egress",
        "signal egress ",
        "signal egress 0",
        "signal egress 65",
        "signal egress -1",
        "signal egress +1",
        "signal egress 99999999999999999999",
        "signal egress hup",
        "signal egress SIG",
        "signal egress SIGRTMIN",
        "signal egress HUP now",
        "signal proxy HUP",
        "status\n",
        "status\r",
        "status\r\r",
        "\rstatus",
    ] {
        assert_eq!(parse_request(line.as_bytes()), None, "{line:?}");
    }
}

#[test]
fn every_classic_signal_name_parses_with_and_without_sig() {
    for sig in 1..32 {
        let name = format!("SIG{}", String::from_utf8_lossy(crate::logic::signals::name(sig).unwrap()));
        assert_eq!(parse_signal(name.as_bytes()), Some(sig), "{name}");
        assert_eq!(parse_signal(&name.as_bytes()[3..]), Some(sig), "{name}");
        assert_eq!(parse_signal(sig.to_string().as_bytes()), Some(sig));
    }
    for sig in 32..=64 {
        assert_eq!(parse_signal(sig.to_string().as_bytes()), Some(sig));
    }
    assert_eq!(parse_signal(b""), None);
    assert_eq!(parse_signal(b"0"), None);
}

#[test]
fn garbage_and_oversized_messages_are_no_request() {
    assert_eq!(parse_request(b"GET / HTTP/1.1\r"), None);
    assert_eq!(parse_request(&[0u8, 1, 2]), None);
    assert_eq!(parse_request(&[b'x'; REQUEST_BYTES]), None);
    assert_eq!(parse_request(&vec![b'y'; 1 << 20]), None, "a 1 MB message");
    // What the init reads of a longer message: its first REQUEST_BYTES.
    let mut padded = b"status".to_vec();
    padded.resize(REQUEST_BYTES, b' ');
    assert_eq!(parse_request(&padded), None);
    let mut padded = b"signal supervise SIGVTALRM".to_vec();
    padded.resize(REQUEST_BYTES, b'\0');
    assert_eq!(parse_request(&padded), None);
}

// ---------------------------------------------------------------- an events client's losses

/// A client's socket with room for `room` more messages; what it took.
struct Socket {
    room: usize,
    took: Vec<String>,
}

impl Socket {
    fn new(room: usize) -> Socket {
        Socket { room, took: vec![] }
    }

    fn deliver(&mut self, dropped: &mut u64, line: Option<&str>) {
        deliver(dropped, line.map(str::as_bytes), |message| {
            let room = self.room > 0;
            if room {
                self.room -= 1;
                self.took.push(String::from_utf8(message.to_vec()).unwrap());
            }
            room
        });
    }
}

#[test]
fn events_a_full_socket_refuses_are_counted_and_told_once_it_takes_again() {
    let mut socket = Socket::new(3);
    let mut dropped = 0;
    for n in 0..10 {
        socket.deliver(&mut dropped, Some(&format!("e{n}\n")));
    }
    assert_eq!(socket.took, ["e0\n", "e1\n", "e2\n"]);
    assert_eq!(dropped, 7);
    // Still full: nothing goes, nothing new jumps the queue.
    socket.deliver(&mut dropped, None);
    assert_eq!((socket.took.len(), dropped), (3, 7));
    // Room for one: the count, not the next event.
    socket.room = 1;
    socket.deliver(&mut dropped, Some("late\n"));
    assert_eq!(socket.took[3], "{\"event\":\"dropped\",\"count\":7}\n");
    assert_eq!(dropped, 1, "the event that found no room after it is counted afresh");
    // Room again, without an event (the poll said writable): the count goes.
    socket.room = 5;
    socket.deliver(&mut dropped, None);
    assert_eq!(socket.took[4], "{\"event\":\"dropped\",\"count\":1}\n");
    socket.deliver(&mut dropped, Some("next\n"));
    assert_eq!((socket.took[5].as_str(), dropped), ("next\n", 0));
    assert_eq!(socket.took.len(), 6);
}

#[test]
fn a_client_that_keeps_up_owes_nothing_and_gets_every_event_as_sent() {
    let mut socket = Socket::new(usize::MAX);
    let mut dropped = 0;
    socket.deliver(&mut dropped, None);
    assert!(socket.took.is_empty());
    for line in ["ok\n", "{\"event\":\"started\"}\n"] {
        socket.deliver(&mut dropped, Some(line));
    }
    assert_eq!((socket.took, dropped), (vec!["ok\n".to_string(), "{\"event\":\"started\"}\n".to_string()], 0));
}

// ---------------------------------------------------------------- status, health

fn view(state: SlotState, pid: Option<Pid>, started_at: Option<Millis>) -> SlotView {
    SlotView { selected: true, state, pid, started_at, restarts: 0, quick_deaths: 0, last_code: None, last_pid: pid }
}

fn unselected() -> SlotView {
    SlotView { selected: false, ..view(SlotState::Down, None, None) }
}

fn all_up() -> Status {
    Status {
        bundle: Bundle::Running,
        since: 1_000,
        now: 61_500,
        slots: PerSlot::from_fn(|slot| {
            let pid = 7 + slot as i32;
            view(SlotState::Up, Some(pid), Some(1_000 + 1_000 * slot as u64))
        }),
    }
}

#[test]
fn status_shows_the_bundle_and_each_selected_slot() {
    let mut status = all_up();
    status.slots.pipelock = SlotView { restarts: 2, last_code: Some(1), ..view(SlotState::Down, None, None) };
    status.slots.supervise = unselected();
    assert_eq!(
        answer_to(&status, false),
        "ok\n\
         bundle running uptime=60s\n\
         egress up pid=7 uptime=60s restarts=0 code=-\n\
         pipelock down pid=- uptime=- restarts=2 code=1\n\
         git-gate up pid=9 uptime=58s restarts=0 code=-\n"
    );
}

#[test]
fn status_names_every_state() {
    for (state, name) in [
        (SlotState::Up, "up"),
        (SlotState::Starting, "starting"),
        (SlotState::Stopping, "stopping"),
        (SlotState::Waiting { at: 5 }, "waiting"),
        (SlotState::Down, "down"),
        (SlotState::Failed, "failed"),
    ] {
        let mut status = all_up();
        status.slots.git_gate = view(state, None, None);
        let answer = answer_to(&status, false);
        assert!(answer.contains(&format!("\ngit-gate {name} pid=- uptime=- restarts=0 code=-\n")), "{answer}");
        let health = answer_to(&status, true);
        if state == SlotState::Up {
            assert_eq!(health, "ok\nhealthy\n");
        } else {
            assert_eq!(health, format!("no\nunhealthy: git-gate {name}\n"));
        }
    }
    for (bundle, name) in [(Bundle::Stopping, "stopping"), (Bundle::Sweeping, "sweeping")] {
        let mut status = all_up();
        status.bundle = bundle;
        assert!(answer_to(&status, false).starts_with(&format!("ok\nbundle {name} uptime=60s\n")));
    }
}

#[test]
fn health_is_ok_only_when_running_with_every_selected_slot_up() {
    let mut status = all_up();
    assert_eq!(answer_to(&status, true), "ok\nhealthy\n");
    status.slots.egress = unselected();
    assert_eq!(answer_to(&status, true), "ok\nhealthy\n", "an unselected slot does not count");
    status.slots.pipelock = view(SlotState::Down, None, None);
    status.slots.supervise = view(SlotState::Starting, None, None);
    assert_eq!(answer_to(&status, true), "no\nunhealthy: pipelock down, supervise starting\n");
    let mut status = all_up();
    status.bundle = Bundle::Stopping;
    status.slots.git_gate = view(SlotState::Stopping, Some(9), Some(0));
    assert_eq!(answer_to(&status, true), "no\nunhealthy: bundle stopping, git-gate stopping\n");
}

#[test]
fn the_longest_status_fits_its_line() {
    let status = Status {
        bundle: Bundle::Sweeping,
        since: 0,
        now: u64::MAX,
        slots: PerSlot::from_fn(|_| SlotView {
            restarts: u32::MAX,
            last_code: Some(255),
            ..view(SlotState::Stopping, Some(i32::MIN), Some(0))
        }),
    };
    let answer = answer_to(&status, false);
    assert_eq!(answer.lines().count(), 6, "{answer}");
    assert!(answer.ends_with(" restarts=4294967295 code=255\n"), "{answer}");
    assert!(answer.len() < crate::logic::line::LINE_BYTES - 1, "not cut");
}

#[test]
fn answers_to_restart_and_signal_are_the_notes_that_decide() {
    use crate::logic::machine::Skip;
    let cases = [
        (Note::Restarting { slot: Slot::GitGate, pid: Some(3), sig: 0 }, Some(true)),
        (Note::Restarting { slot: Slot::GitGate, pid: None, sig: 0 }, Some(true)),
        (Note::RestartCoalesced { slot: Slot::GitGate, sig: 0 }, Some(true)),
        (Note::RestartSkipped { slot: Slot::GitGate, sig: 0, why: Skip::ShuttingDown }, Some(false)),
        (Note::RestartSkipped { slot: Slot::GitGate, sig: 0, why: Skip::NotSelected }, Some(false)),
        (Note::Forwarded { slot: Slot::Egress, pid: 3, sig: 1 }, Some(true)),
        (Note::NotForwarded { slot: Slot::Egress, sig: 1 }, Some(false)),
        (Note::Started { slot: Slot::Egress, pid: 3 }, None),
        (Note::AllDown, None),
    ];
    for (note, ok) in cases {
        assert_eq!(verdict(&note), ok, "{note:?}");
    }
}

// ---------------------------------------------------------------- events

const TS: u64 = 1_700_000_000_123;

/// The context of a bundle whose slots' last runs had pids 40 to 43.
struct Fake;
impl Context for Fake {
    fn program(&self, _: Slot) -> &[u8] {
        b"/bin/x"
    }
    fn error_text(&self, _: i32) -> &[u8] {
        b"No such file or directory"
    }
    fn last_pid(&self, slot: Slot) -> Option<Pid> {
        Some(40 + slot as i32)
    }
}

fn json(note: Note) -> Option<String> {
    json_at(note, TS)
}

fn json_at(note: Note, ts: u64) -> Option<String> {
    let mut line = Line::new();
    report::note(&note, &Fake, Some((&mut line, ts)));
    Some(text(&line)).filter(|json| !json.is_empty())
}

#[test]
fn every_event_renders_as_one_json_line() {
    let cases = [
        (
            Note::Started { slot: Slot::Egress, pid: 7 },
            r#"{"event":"started","slot":"egress","pid":7,"ts":1700000000123}"#,
        ),
        (
            Note::Died { slot: Slot::Pipelock, pid: 9, ended: Ended::Exited(3) },
            r#"{"event":"exited","slot":"pipelock","pid":9,"code":3,"ts":1700000000123}"#,
        ),
        (
            Note::Died { slot: Slot::GitGate, pid: 10, ended: Ended::Signaled(9) },
            r#"{"event":"exited","slot":"git-gate","pid":10,"signal":9,"ts":1700000000123}"#,
        ),
        (
            Note::CannotStart { slot: Slot::Supervise, errno: 2, code: 127 },
            r#"{"event":"exited","slot":"supervise","pid":null,"code":127,"ts":1700000000123}"#,
        ),
        (
            Note::Restarting { slot: Slot::Pipelock, pid: Some(9), sig: 10 },
            r#"{"event":"restart_requested","slot":"pipelock","pid":9,"ts":1700000000123}"#,
        ),
        (
            Note::Restarting { slot: Slot::Pipelock, pid: None, sig: 0 },
            r#"{"event":"restart_requested","slot":"pipelock","pid":41,"ts":1700000000123}"#,
        ),
        (
            Note::Forwarded { slot: Slot::Egress, pid: 7, sig: 1 },
            r#"{"event":"forwarded","slot":"egress","pid":7,"signal":1,"ts":1700000000123}"#,
        ),
        (
            Note::ShuttingDown { sig: 15, grace_ms: 8000 },
            r#"{"event":"shutdown","slot":null,"pid":null,"signal":15,"ts":1700000000123}"#,
        ),
        (Note::Exiting { code: 3 }, r#"{"event":"exit","slot":null,"pid":null,"code":3,"ts":1700000000123}"#),
        (
            Note::RestartScheduled { slot: Slot::GitGate, delay_ms: 2000, deaths: 3 },
            r#"{"event":"restarting","slot":"git-gate","pid":42,"delay_ms":2000,"ts":1700000000123}"#,
        ),
        (
            Note::Failed { slot: Slot::GitGate, deaths: 6 },
            r#"{"event":"failed","slot":"git-gate","pid":42,"ts":1700000000123}"#,
        ),
        (
            Note::EssentialDown { slot: Slot::GitGate, grace_ms: 8000 },
            r#"{"event":"shutdown","slot":null,"pid":null,"ts":1700000000123}"#,
        ),
    ];
    for (note, want) in cases {
        assert_eq!(json(note), Some(format!("{want}\n")), "{note:?}");
    }
}

#[test]
fn notes_that_are_no_event_give_none() {
    use crate::logic::machine::Skip;
    for note in [
        Note::AlreadyShuttingDown { sig: 15 },
        Note::RestartCoalesced { slot: Slot::Egress, sig: 10 },
        Note::RestartSkipped { slot: Slot::Egress, sig: 10, why: Skip::NotSelected },
        Note::RestartDropped { slot: Slot::Egress },
        Note::NotForwarded { slot: Slot::Egress, sig: 1 },
        Note::GraceExpired { slot: Slot::Egress, pid: 3 },
        Note::IgnoredSignal { sig: 12 },
        Note::AllDown,
        Note::Sweeping { sig: 15 },
        Note::ActionsLost { count: 1 },
    ] {
        assert_eq!(json(note), None, "{note:?}");
    }
}

/// Event lines write their strings as they are: every string an event can
/// carry must be one that JSON does not escape.
#[test]
fn no_string_of_an_event_needs_escaping() {
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-') && !s.is_empty();
    let mut notes = vec![Note::ShuttingDown { sig: 15, grace_ms: 0 }, Note::Exiting { code: 0 }];
    for slot in Slot::ALL {
        assert!(plain(slot.name()), "{}", slot.name());
        notes.extend([
            Note::Started { slot, pid: 1 },
            Note::Died { slot, pid: 1, ended: Ended::Exited(1) },
            Note::Died { slot, pid: 1, ended: Ended::Signaled(1) },
            Note::CannotStart { slot, errno: 2, code: 127 },
            Note::Restarting { slot, pid: None, sig: 0 },
            Note::Forwarded { slot, pid: 1, sig: 1 },
            Note::RestartScheduled { slot, delay_ms: 1, deaths: 1 },
            Note::Failed { slot, deaths: 1 },
        ]);
    }
    for note in notes {
        let line = json(note).unwrap();
        // Between each pair of quotes: a name or a key.
        for string in line.split('"').skip(1).step_by(2) {
            assert!(plain(string), "{string:?} in {line}");
        }
    }
}

#[test]
fn extreme_numbers_stay_whole() {
    let line = json(Note::Died { slot: Slot::Supervise, pid: i32::MIN, ended: Ended::Signaled(i32::MIN) }).unwrap();
    assert_eq!(
        line,
        r#"{"event":"exited","slot":"supervise","pid":-2147483648,"signal":-2147483648,"ts":1700000000123}"#
            .to_string()
            + "\n"
    );
    let line = json_at(Note::Exiting { code: 255 }, u64::MAX).unwrap();
    assert_eq!(line, "{\"event\":\"exit\",\"slot\":null,\"pid\":null,\"code\":255,\"ts\":18446744073709551615}\n");
}
