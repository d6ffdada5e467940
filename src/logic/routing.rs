//! Log routing, free of I/O: where each daemon line goes and when bytes may
//! be read or written. The shell reads a pipe when [`Routing::wants_read`]
//! says so and hands the bytes to [`Routing::on_data`]; it writes what
//! [`Sink::to_write`] offers and reports back with [`Sink::wrote`]; that
//! is all it decides.
//!
//! Each sink (the init's stdout, its stderr, or one for both when they are
//! the same pipe) has a backlog of whole lines waiting for the reader. While
//! it has less room than one read can fill, no pipe bound for it is read, so
//! the back-pressure reaches the daemons, and signals, deadlines and reaping
//! go on. A line that finds no
//! room is counted and reported once the sink drains.

use heapless::Vec;

use super::assembler::{Assembler, MAX_LINE};
use super::line::Line;
use super::report;
use super::slot::Slot;
use crate::sys::bytes::{copy, move_to_front, prefix_lines, Prefix, PREFIX_SLACK};

/// Bytes a pipe write of at most this size moves atomically, and that a
/// pipe poll calls writable has room for.
pub const PIPE_BUF: usize = 4096;

/// Bytes one read of a daemon's pipe takes at most.
pub const READ: usize = 64 * 1024;

/// Room a sink's backlog must have for a pipe bound for it to be read: all
/// that one read can turn into (an empty line grows 13×, by a 12-byte
/// prefix), and the bulk copy's slack.
pub const READ_ROOM: usize = 13 * READ + PREFIX_SLACK;

/// A stdout and a stderr pipe for each of the four slots.
pub const MAX_STREAMS: usize = 2 * Slot::ALL.len();

/// Which of the init's own outputs a line goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkId {
    Stdout,
    Stderr,
}

/// How a sink's descriptor may be written without blocking the wait point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// A non-blocking description of its own: write while the reader takes.
    NonBlocking,
    /// The shared, blocking pipe (reopening it failed): write only once poll
    /// has said it is writable, and at most [`PIPE_BUF`] bytes, which then fit.
    WhenPolled,
    /// Not a pipe (a file, a tty, /dev/null): written as it is.
    Direct,
}

/// Lines waiting for one sink's reader.
pub struct Sink<'a> {
    buf: &'a mut [u8],
    start: usize,
    end: usize,
    mode: WriteMode,
    /// Poll said writable since the last write (WhenPolled).
    writable: bool,
    /// Lines that found no room since the last notice.
    dropped: u64,
    /// The last byte written was not a newline: a write cut a line.
    mid_line: bool,
}

impl<'a> Sink<'a> {
    pub fn new(buf: &'a mut [u8], mode: WriteMode) -> Self {
        Sink { buf, start: 0, end: 0, mode, writable: false, dropped: 0, mid_line: false }
    }

    pub fn mode(&self) -> WriteMode {
        self.mode
    }

    /// Nothing waits to be written: pipes bound for this sink may be read.
    pub fn is_idle(&self) -> bool {
        self.start == self.end
    }

    /// Whether a read's worth of lines fits behind what waits: the pipes
    /// bound for this sink are read while it drains, so reads and writes
    /// overlap, until the backlog's end comes within [`READ_ROOM`] of its
    /// size; then only once it has drained (and starts again at the front).
    /// So back-pressure reaches the daemons once the reader falls behind by
    /// what the backlog holds past that, and nothing waiting is ever moved
    /// for room.
    pub fn has_room(&self) -> bool {
        self.is_idle() || self.buf.len().saturating_sub(self.end) >= READ_ROOM
    }

    pub fn pending(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Appends `pieces` as one whole line, or counts a dropped line when it
    /// does not fit.
    pub fn push(&mut self, pieces: &[&[u8]]) -> bool {
        let len = pieces.iter().fold(0usize, |sum, piece| sum.saturating_add(piece.len()));
        if self.end.saturating_add(len) > self.buf.len() && self.start > 0 {
            // What was written from the front is free again.
            self.end = move_to_front(self.buf, self.start, self.end);
            self.start = 0;
        }
        let Some(room) = self.buf.get_mut(self.end..self.end.saturating_add(len)) else {
            self.dropped = self.dropped.saturating_add(1);
            return false;
        };
        let mut at = 0usize;
        for piece in pieces {
            at = at.saturating_add(copy(room.get_mut(at..).unwrap_or(&mut []), piece));
        }
        self.end = self.end.saturating_add(len);
        true
    }

    /// Appends the whole lines at the front of `data`, each after `prefix`,
    /// while they fit and are at most [`MAX_LINE`] long; returns the bytes
    /// taken. What is left (a longer line, the last few bytes, the rest when
    /// room runs short) goes line by line through [`Sink::push`].
    pub fn push_lines(&mut self, prefix: &Prefix, data: &[u8]) -> usize {
        let (taken, made) = prefix_lines(self.buf.get_mut(self.end..).unwrap_or(&mut []), data, prefix, MAX_LINE);
        self.end = self.end.saturating_add(made);
        taken
    }

    /// Whether the wait point should ask poll when this sink is writable.
    pub fn wants_writable(&self) -> bool {
        !self.is_idle() && self.mode != WriteMode::Direct
    }

    /// Poll said the descriptor is writable.
    pub fn on_writable(&mut self) {
        self.writable = true;
    }

    /// The bytes to write now, if any may be written.
    pub fn to_write(&self) -> Option<&[u8]> {
        let pending = self.pending();
        match self.mode {
            _ if pending.is_empty() => None,
            WriteMode::NonBlocking | WriteMode::Direct => Some(pending),
            WriteMode::WhenPolled if self.writable => pending.get(..PIPE_BUF).or(Some(pending)),
            WriteMode::WhenPolled => None,
        }
    }

    /// `n` bytes of [`Sink::to_write`] were written.
    pub fn wrote(&mut self, n: usize) {
        let n = n.min(self.end.saturating_sub(self.start));
        self.start = self.start.saturating_add(n);
        if n > 0 {
            self.mid_line = self.buf.get(self.start.saturating_sub(1)) != Some(&b'\n');
        }
        // One write per poll: the next one may not fit.
        self.writable = false;
        if self.is_idle() {
            self.start = 0;
            self.end = 0;
            self.report_dropped();
        }
    }

    /// The reader is gone (EPIPE) or the descriptor unusable: nobody will
    /// read what waits, nor a notice about it.
    pub fn reader_gone(&mut self) {
        self.start = 0;
        self.end = 0;
        self.dropped = 0;
    }

    /// Once drained, the count of lines that found no room, said where they
    /// are missing.
    fn report_dropped(&mut self) {
        if self.dropped > 0 {
            let line = report::lines_dropped(self.dropped);
            self.dropped = 0;
            self.push(&[line.as_bytes()]);
        }
    }

    /// The exit deadline passed: what waits is given up. Returns the line
    /// telling how many lines were lost, to write once if there is room.
    pub fn give_up(&mut self, code: u8) -> Option<Line> {
        let lost = self.pending().iter().filter(|&&b| b == b'\n').count();
        let lost = u64::try_from(lost).unwrap_or(u64::MAX).saturating_add(self.dropped);
        let mid_line = self.mid_line;
        self.reader_gone();
        (lost > 0).then(|| report::exit_with_lost_lines(code, lost, mid_line))
    }
}

/// One daemon output pipe: a slot's stdout or stderr.
pub struct Stream<'a> {
    pub slot: Slot,
    /// Where its lines go: the init's stdout or stderr, as the daemon's.
    pub sink: SinkId,
    lines: Assembler<'a>,
    prefix: Prefix,
}

/// Index of a stream, as [`Routing::add_stream`] returned it.
pub type StreamId = usize;

/// Reads per drain at a daemon's death: bounded, so a grandchild that keeps
/// writing cannot hold the init there.
pub const DRAIN_READS: usize = 8;

pub struct Routing<'a> {
    out: Sink<'a>,
    /// `None`: stderr is the same pipe as stdout, so one sink keeps lines
    /// cut by a partial write whole.
    err: Option<Sink<'a>>,
    streams: Vec<Stream<'a>, MAX_STREAMS>,
    /// The stream the next round of reads starts at.
    turn: StreamId,
}

impl<'a> Routing<'a> {
    pub fn new(out: Sink<'a>, err: Option<Sink<'a>>) -> Self {
        Routing { out, err, streams: Vec::new(), turn: 0 }
    }

    /// Where this round of reads starts: one stream further each round, so
    /// that the first pipe read, which fills its sink's backlog and keeps
    /// the other pipes bound for it waiting, is each stream in turn.
    pub fn next_turn(&mut self) -> StreamId {
        let turn = self.turn;
        self.turn = self.after(turn);
        turn
    }

    /// The stream after `stream`, round the ring.
    pub fn after(&self, stream: StreamId) -> StreamId {
        let next = stream.saturating_add(1);
        if next < self.streams.len() {
            next
        } else {
            0
        }
    }

    pub fn sink(&mut self, id: SinkId) -> &mut Sink<'a> {
        pick(&mut self.out, &mut self.err, id)
    }

    pub fn sink_ref(&self, id: SinkId) -> &Sink<'a> {
        match (&self.err, id) {
            (Some(err), SinkId::Stderr) => err,
            _ => &self.out,
        }
    }

    /// The sinks there are: stdout, and stderr unless it is the same pipe.
    pub fn sink_ids(&self) -> impl Iterator<Item = SinkId> {
        self.sink_list().iter().copied()
    }

    /// A pipe for `slot`'s `sink`, its unfinished line kept in `carry`.
    pub fn add_stream(&mut self, slot: Slot, sink: SinkId, carry: &'a mut [u8]) -> Option<StreamId> {
        let prefix = Prefix::new(slot.name().as_bytes());
        let id = self.streams.len();
        self.streams.push(Stream { slot, sink, lines: Assembler::new(carry), prefix }).ok()?;
        Some(id)
    }

    /// The slot whose pipe `stream` is.
    pub fn stream_slot(&self, stream: StreamId) -> Option<Slot> {
        self.streams.get(stream).map(|s| s.slot)
    }

    /// [`Routing::sink_ids`] as a value that borrows nothing.
    pub fn sink_list(&self) -> &'static [SinkId] {
        if self.err.is_some() {
            &[SinkId::Stdout, SinkId::Stderr]
        } else {
            &[SinkId::Stdout]
        }
    }

    pub fn streams(&self) -> impl Iterator<Item = (StreamId, &Stream<'a>)> {
        self.streams.iter().enumerate()
    }

    /// Whether the pipe of `stream` should be read now: its sink has room.
    pub fn wants_read(&self, stream: StreamId) -> bool {
        self.streams.get(stream).is_some_and(|s| self.sink_ref(s.sink).has_room())
    }

    /// Bytes read from the pipe of `stream`: its whole lines go to its sink.
    pub fn on_data(&mut self, stream: StreamId, data: &[u8]) {
        let Some(Stream { sink, lines, prefix, .. }) = self.streams.get_mut(stream) else { return };
        let sink = pick(&mut self.out, &mut self.err, *sink);
        let mut data = data;
        while !data.is_empty() {
            if lines.at_line_start() {
                data = data.get(sink.push_lines(prefix, data)..).unwrap_or(&[]);
            }
            data = lines.feed_one(data, &mut |line| {
                sink.push(&[prefix.as_bytes(), line, b"\n"]);
            });
        }
    }

    /// The pipe of `stream` read empty after its run ended: its unfinished
    /// last line goes out as a line of its own.
    pub fn finish_line(&mut self, stream: StreamId) {
        if self.streams.get(stream).is_some_and(|s| !s.lines.at_line_start()) {
            // The newline the daemon did not write: one path for every line.
            self.on_data(stream, b"\n");
        }
    }

    /// One of the init's own lines, on stderr.
    pub fn note(&mut self, line: &[u8]) {
        self.sink(SinkId::Stderr).push(&[line]);
    }

    /// Nothing waits in any sink.
    pub fn is_idle(&self) -> bool {
        self.out.is_idle() && self.err.as_ref().is_none_or(Sink::is_idle)
    }
}

/// The sink for `id`: stderr's own, or stdout's when they are one pipe.
fn pick<'s, 'a>(out: &'s mut Sink<'a>, err: &'s mut Option<Sink<'a>>, id: SinkId) -> &'s mut Sink<'a> {
    match (err, id) {
        (Some(err), SinkId::Stderr) => err,
        _ => out,
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
