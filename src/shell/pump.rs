//! The log pump: reads the daemons' stdout and stderr pipes and writes each
//! line to the init's own stdout or stderr as `[slot] line`, one whole line
//! at a time, so no line is ever interleaved with another daemon's.
//!
//! Each slot has one stdout and one stderr pipe for the init's lifetime,
//! made at its first start and handed to every later run. The init keeps the
//! write ends (close-on-exec), so the pipes never close under it: a restart
//! or a grandchild holding an old run's pipe cannot use up descriptors, and
//! a dead run's unfinished last line is delivered once its pipe, after the
//! run is reaped, reads empty.

use heapless::Vec;

use super::output::{Output, Sink};
use crate::core::lines::{Assembler, MAX_LINE};
use crate::core::machine::Millis;
use crate::core::slot::Slot;
use crate::sys::clock::now_ms;
use crate::sys::fds::{log_pipe, read, Fd, Read, STDERR, STDOUT};
use crate::sys::memory;

/// A stdout and a stderr pipe for each of the four slots.
pub const MAX_STREAMS: usize = 2 * Slot::ALL.len();
/// One read. Its lines can grow by a 12-byte prefix each (13× for empty
/// lines), and `output::BACKLOG` must hold all of one read's output.
const CHUNK: usize = 16 * 1024;
/// Reads per drain at a daemon's death: bounded, so a grandchild that keeps
/// writing cannot hold the init there.
const DRAIN_READS: usize = 8;

struct Stream {
    reader: Fd,
    writer: Fd,
    slot: Slot,
    /// The init's descriptor the lines go to: 1 or 2, as the daemon's.
    dest: i32,
    lines: Assembler<'static>,
    /// A run of the slot was reaped before its pipe could be read empty:
    /// its unfinished last line goes out once the pipe is.
    run_ended: bool,
}

pub struct Pump {
    streams: Vec<Stream, MAX_STREAMS>,
    spare_carries: Vec<&'static mut [u8], MAX_STREAMS>,
    chunk: &'static mut [u8],
}

impl Pump {
    pub fn new() -> Option<Pump> {
        let pages = memory::pages(CHUNK + MAX_STREAMS * MAX_LINE)?;
        let (chunk, mut carries) = pages.split_at_mut_checked(CHUNK)?;
        let mut spare_carries = Vec::new();
        while let Some((carry, rest)) = carries.split_at_mut_checked(MAX_LINE) {
            let _ = spare_carries.push(carry);
            carries = rest;
        }
        Some(Pump { streams: Vec::new(), spare_carries, chunk })
    }

    /// The write ends a run of `slot` takes as stdout and stderr, made at
    /// the slot's first start. `None` when they cannot be made: the run then
    /// writes to the init's own stdout and stderr, unprefixed.
    pub fn pipes_for(&mut self, slot: Slot) -> Option<(i32, i32)> {
        let writer = |streams: &Vec<Stream, MAX_STREAMS>, dest| {
            streams.iter().find(|s| s.slot == slot && s.dest == dest).map(|s| s.writer.raw())
        };
        if let (Some(out), Some(err)) = (writer(&self.streams, STDOUT), writer(&self.streams, STDERR)) {
            return Some((out, err));
        }
        let (out, err) = (log_pipe()?, log_pipe()?);
        let carries = (self.spare_carries.pop(), self.spare_carries.pop());
        let (Some(out_carry), Some(err_carry)) = carries else { return None };
        for ((reader, writer), dest, carry) in [(out, STDOUT, out_carry), (err, STDERR, err_carry)] {
            let lines = Assembler::new(carry);
            let _ = self.streams.push(Stream { reader, writer, slot, dest, lines, run_ended: false });
        }
        Some((writer(&self.streams, STDOUT)?, writer(&self.streams, STDERR)?))
    }

    /// The pipes to watch: those whose destination has no backlog (the
    /// others get fd -1, which poll skips).
    pub fn poll_entries<'a>(&'a self, output: &'a Output) -> impl Iterator<Item = libc::pollfd> + 'a {
        self.streams.iter().map(move |s| {
            let fd = if output.is_idle(s.dest) { s.reader.raw() } else { -1 };
            libc::pollfd { fd, events: libc::POLLIN, revents: 0 }
        })
    }

    /// One read from the pipe `fd`, which poll reported ready.
    pub fn service(&mut self, fd: i32, output: &mut Output) {
        if let Some(stream) = self.streams.iter_mut().find(|s| s.reader.raw() == fd) {
            if stream.run_ended {
                settle(stream, self.chunk, output);
            } else {
                pump(stream, self.chunk, output, 1);
            }
        }
    }

    /// A run of `slot` was reaped: what it wrote, its unfinished last line
    /// included, goes out before its death is logged — as far as the init's
    /// own output takes it now; the rest follows in order, whole.
    pub fn drain_slot(&mut self, slot: Slot, output: &mut Output) {
        for stream in self.streams.iter_mut().filter(|s| s.slot == slot) {
            stream.run_ended = true;
            settle(stream, self.chunk, output);
        }
    }

    /// The init exits: the pipes are read in turn until all are empty, and
    /// every last line delivered, waiting for a slow reader until `deadline`
    /// at most (a writer that outlives the daemons may never stop).
    pub fn finish(&mut self, output: &mut Output, deadline: Millis) {
        let mut more = true;
        while more && now_ms() < deadline {
            more = false;
            for stream in self.streams.iter_mut() {
                output.sink(stream.dest).flush_until(deadline);
                more |= pump(stream, self.chunk, output, 1) != Stop::Empty;
            }
        }
        for stream in self.streams.iter_mut() {
            finish_line(stream, output);
        }
        output.flush_until(deadline);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The pipe had nothing more.
    Empty,
    /// The destination has a backlog: no more reads until it drains.
    Busy,
    /// The allowed reads were done; there may be more.
    Limit,
}

/// Reads up to `reads` chunks while the destination takes them.
fn pump(stream: &mut Stream, chunk: &mut [u8], output: &mut Output, reads: usize) -> Stop {
    let sink = output.sink(stream.dest);
    let prefix = prefix(stream.slot);
    for _ in 0..reads {
        if !sink.is_idle() {
            return Stop::Busy;
        }
        let Read::Data(n) = read(stream.reader.raw(), chunk) else { return Stop::Empty };
        stream.lines.feed(chunk.get(..n).unwrap_or(&[]), &mut |line| emit(sink, &prefix, line));
        sink.flush();
    }
    Stop::Limit
}

/// Reads what an ended run left (bounded: a grandchild may keep writing);
/// once the pipe is empty, its unfinished last line goes out. A line is
/// never finished while more of it may still be in the pipe.
fn settle(stream: &mut Stream, chunk: &mut [u8], output: &mut Output) {
    if pump(stream, chunk, output, DRAIN_READS) == Stop::Empty {
        finish_line(stream, output);
        stream.run_ended = false;
    }
}

/// Delivers a stream's unfinished last line.
fn finish_line(stream: &mut Stream, output: &mut Output) {
    let sink = output.sink(stream.dest);
    let prefix = prefix(stream.slot);
    stream.lines.finish(&mut |line| emit(sink, &prefix, line));
    sink.flush();
}

/// One daemon line, prefixed, as one whole line of the sink.
fn emit(sink: &mut Sink, prefix: &[u8], line: &[u8]) {
    sink.push(&[prefix, line, b"\n"]);
}

/// `[slot] `
fn prefix(slot: Slot) -> Vec<u8, 16> {
    let mut prefix = Vec::new();
    for &byte in b"[".iter().chain(slot.name().as_bytes()).chain(b"] ") {
        let _ = prefix.push(byte);
    }
    prefix
}
