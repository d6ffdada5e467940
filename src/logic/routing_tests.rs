//! The log routing without pipes: back-pressure, a run dying mid-line,
//! restarts, drop counting, the write modes and the exit's give-up.

use super::*;
use crate::logic::assembler::MAX_LINE;

/// Buffers that live for the test, leaked as the init's pages are.
fn pages(len: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; len].into_boxed_slice())
}

fn routing(backlog: usize, shared: bool) -> Routing<'static> {
    let out = Sink::new(pages(backlog), WriteMode::NonBlocking);
    let err = (!shared).then(|| Sink::new(pages(backlog), WriteMode::NonBlocking));
    Routing::new(out, err)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes everything `sink` offers, as a reader that takes all.
fn drain(routing: &mut Routing, id: SinkId) -> String {
    let mut taken = std::vec::Vec::new();
    while let Some(bytes) = routing.sink(id).to_write() {
        let n = bytes.len();
        taken.extend_from_slice(bytes);
        routing.sink(id).wrote(n);
    }
    text(&taken)
}

#[test]
fn lines_are_prefixed_and_go_to_their_sink() {
    let mut r = routing(4096, false);
    let out = r.add_stream(Slot::Egress, SinkId::Stdout, pages(MAX_LINE)).unwrap();
    let err = r.add_stream(Slot::GitGate, SinkId::Stderr, pages(MAX_LINE)).unwrap();
    r.on_data(out, b"one\ntw");
    r.on_data(err, b"oops\n");
    r.on_data(out, b"o\n");
    assert_eq!(drain(&mut r, SinkId::Stdout), "[egress] one\n[egress] two\n");
    assert_eq!(drain(&mut r, SinkId::Stderr), "[git-gate] oops\n");
}

#[test]
fn a_sink_with_a_backlog_stops_the_reads_bound_for_it() {
    let mut r = routing(4096, false);
    let out = r.add_stream(Slot::Egress, SinkId::Stdout, pages(MAX_LINE)).unwrap();
    let err = r.add_stream(Slot::Egress, SinkId::Stderr, pages(MAX_LINE)).unwrap();
    assert!(r.wants_read(out) && r.wants_read(err));
    r.on_data(out, b"line\n");
    assert!(!r.wants_read(out), "stdout has a backlog");
    assert!(r.wants_read(err), "stderr's sink is another");
    r.sink(SinkId::Stdout).wrote(3);
    assert!(!r.wants_read(out), "a partial write leaves a backlog");
    let rest = r.sink(SinkId::Stdout).to_write().unwrap().len();
    r.sink(SinkId::Stdout).wrote(rest);
    assert!(r.wants_read(out));
}

#[test]
fn a_shared_pipe_is_one_sink_for_both_streams() {
    let mut r = routing(4096, true);
    let out = r.add_stream(Slot::Pipelock, SinkId::Stdout, pages(MAX_LINE)).unwrap();
    let err = r.add_stream(Slot::Pipelock, SinkId::Stderr, pages(MAX_LINE)).unwrap();
    assert_eq!(r.sink_list().len(), 1);
    r.on_data(out, b"a\n");
    assert!(!r.wants_read(err), "one backlog holds both");
    r.on_data(err, b"b\n");
    r.note(b"sidecar-init: note\n");
    assert_eq!(drain(&mut r, SinkId::Stdout), "[pipelock] a\n[pipelock] b\nsidecar-init: note\n");
}

#[test]
fn a_run_dying_mid_line_gets_its_last_line_alone_before_the_next_runs() {
    let mut r = routing(4096, false);
    let out = r.add_stream(Slot::Pipelock, SinkId::Stdout, pages(MAX_LINE)).unwrap();
    r.on_data(out, b"first\nOLDTAIL");
    // The run is reaped while its sink is still busy: the tail goes out anyway.
    assert!(!r.sink(SinkId::Stdout).is_idle());
    r.finish_line(out);
    r.on_data(out, b"NEWLINE\n");
    assert_eq!(drain(&mut r, SinkId::Stdout), "[pipelock] first\n[pipelock] OLDTAIL\n[pipelock] NEWLINE\n");
    r.finish_line(out);
    assert_eq!(drain(&mut r, SinkId::Stdout), "", "nothing unfinished is left");
}

#[test]
fn lines_that_find_no_room_are_counted_and_reported_once_drained() {
    let mut r = routing(64, false);
    let out = r.add_stream(Slot::Egress, SinkId::Stdout, pages(MAX_LINE)).unwrap();
    r.on_data(out, &b"0123456789\n".repeat(10));
    let first = drain(&mut r, SinkId::Stdout);
    assert_eq!(first.matches("[egress] 0123456789\n").count(), 3, "{first:?}");
    assert!(first.ends_with("sidecar-init: 7 lines dropped while output was blocked\n"), "{first:?}");
    r.on_data(out, b"later\n");
    assert_eq!(drain(&mut r, SinkId::Stdout), "[egress] later\n", "the count was reset");
}

#[test]
fn the_backlog_compacts_when_its_end_is_reached() {
    let mut r = routing(32, false);
    r.note(b"0123456789abcdef\n");
    r.sink(SinkId::Stderr).wrote(10);
    // 7 bytes wait at 10..17; a 20-byte line fits only once they move to the front.
    assert!(r.sink(SinkId::Stderr).push(&[b"ABCDEFGHIJKLMNOPQRS\n"]));
    assert_eq!(drain(&mut r, SinkId::Stderr), "abcdef\nABCDEFGHIJKLMNOPQRS\n");
}

#[test]
fn a_shared_blocking_pipe_is_written_only_after_poll_and_one_pipe_buf_at_a_time() {
    let mut sink = Sink::new(pages(3 * PIPE_BUF), WriteMode::WhenPolled);
    let line = vec![b'x'; PIPE_BUF - 1];
    for _ in 0..2 {
        assert!(sink.push(&[&line, b"\n"]));
    }
    assert!(sink.wants_writable());
    assert_eq!(sink.to_write(), None, "not before poll said it fits");
    sink.on_writable();
    assert_eq!(sink.to_write().map(<[u8]>::len), Some(PIPE_BUF));
    sink.wrote(PIPE_BUF);
    assert_eq!(sink.to_write(), None, "one write per poll");
    sink.on_writable();
    sink.wrote(PIPE_BUF);
    assert!(sink.is_idle() && !sink.wants_writable());
}

#[test]
fn a_direct_sink_is_written_at_once_and_never_polled() {
    let mut sink = Sink::new(pages(64), WriteMode::Direct);
    sink.push(&[b"x\n"]);
    assert!(!sink.wants_writable());
    assert_eq!(sink.to_write(), Some(&b"x\n"[..]));
}

#[test]
fn a_gone_reader_drops_the_backlog_without_a_notice() {
    let mut sink = Sink::new(pages(16), WriteMode::NonBlocking);
    sink.push(&[b"0123456789\n"]);
    sink.push(&[b"0123456789\n"]);
    sink.reader_gone();
    assert!(sink.is_idle());
    assert_eq!(sink.to_write(), None);
}

#[test]
fn giving_up_at_exit_counts_what_is_lost_and_ends_a_cut_line_first() {
    let mut sink = Sink::new(pages(64), WriteMode::NonBlocking);
    sink.push(&[b"aaaa\n"]);
    sink.push(&[b"bbbb\n"]);
    sink.wrote(2);
    let line = sink.give_up(3).unwrap();
    assert_eq!(
        text(line.as_bytes()),
        "\nsidecar-init: exiting code=3; 2 lines of output dropped: not taken by the exit deadline\n"
    );
    assert!(sink.is_idle());
    assert!(sink.give_up(3).is_none(), "nothing left to say");
    let mut whole = Sink::new(pages(64), WriteMode::NonBlocking);
    whole.push(&[b"aaaa\n"]);
    assert!(text(whole.give_up(0).unwrap().as_bytes()).starts_with("sidecar-init: exiting code=0; 1 lines"));
}

#[test]
fn eight_streams_fit_and_a_ninth_is_refused() {
    let mut r = routing(64, false);
    for slot in Slot::ALL {
        assert!(r.add_stream(slot, SinkId::Stdout, pages(MAX_LINE)).is_some());
        assert!(r.add_stream(slot, SinkId::Stderr, pages(MAX_LINE)).is_some());
    }
    assert!(r.add_stream(Slot::Egress, SinkId::Stdout, pages(MAX_LINE)).is_none());
    assert_eq!(r.stream_slot(7), Some(Slot::Supervise));
}

/// What the SPEC asks of any split: each line prefixed, a line longer than
/// MAX_LINE cut into pieces, the unfinished last one delivered at the end.
fn expected(prefix: &str, bytes: &[u8]) -> String {
    let mut want = String::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let pieces: std::vec::Vec<&[u8]> = if line.is_empty() { vec![line] } else { line.chunks(MAX_LINE).collect() };
        for piece in pieces {
            want.push_str(prefix);
            want.push_str(&text(piece));
            want.push('\n');
        }
    }
    want
}

#[test]
fn the_bulk_copy_and_the_line_by_line_path_agree_on_any_split() {
    let mut text = std::vec::Vec::new();
    for (i, len) in
        [0, 1, 7, 8, 9, 15, 16, 100, 4095, 4096, 4097, 8192, 9000, 3, 0, 64].iter().cycle().take(200).enumerate()
    {
        text.extend((0..*len).map(|j| b'a' + ((i * 7 + j) % 26) as u8));
        text.push(b'\n');
    }
    text.extend_from_slice(b"unfinished");
    let want = expected("[egress] ", &text);
    for split in [1, 5, 8, 100, 4096, 4097, 65536, text.len()] {
        let mut r = routing(4 << 20, false);
        let id = r.add_stream(Slot::Egress, SinkId::Stdout, pages(MAX_LINE)).unwrap();
        let mut got = String::new();
        for chunk in text.chunks(split) {
            r.on_data(id, chunk);
            got.push_str(&drain(&mut r, SinkId::Stdout));
        }
        r.finish_line(id);
        got.push_str(&drain(&mut r, SinkId::Stdout));
        assert!(got == want, "split {split}: {} bytes, want {}", got.len(), want.len());
    }
}

#[test]
fn each_round_of_reads_starts_at_the_next_stream() {
    // The first pipe read fills its sink's backlog, and the others bound for
    // it wait: a round that always began at stream 0 let one flooding
    // daemon keep the other daemons' lines out.
    let mut r = routing(4096, true);
    for slot in [Slot::Egress, Slot::Pipelock, Slot::GitGate] {
        r.add_stream(slot, SinkId::Stdout, pages(MAX_LINE)).unwrap();
    }
    let turns: std::vec::Vec<StreamId> = (0..7).map(|_| r.next_turn()).collect();
    assert_eq!(turns, [0, 1, 2, 0, 1, 2, 0]);
}
