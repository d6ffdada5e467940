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
use rustix::event::{PollFd, PollFlags};
use rustix::fd::BorrowedFd;

use super::output::{Dest, Output, Sink};
use crate::core::lines::{Assembler, MAX_LINE};
use crate::core::machine::Millis;
use crate::core::slot::Slot;
use crate::sys::clock::now_ms;
use crate::sys::fds::{log_pipe, make_blocking, read, same, Fd, Read};
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
    /// Where the lines go: the init's stdout or stderr, as the daemon's.
    dest: Dest,
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
    pub fn pipes_for(&mut self, slot: Slot) -> Option<(Fd, Fd)> {
        let out = self.writer(slot, Dest::Stdout)?;
        let err = self.writer(slot, Dest::Stderr)?;
        Some((out, err))
    }

    /// The write end of `slot`'s pipe for `dest`, made if it is missing.
    fn writer(&mut self, slot: Slot, dest: Dest) -> Option<Fd> {
        if let Some(stream) = self.streams.iter().find(|s| s.slot == slot && s.dest == dest) {
            // Every run starts with blocking stdio, as a fresh pipe would give it.
            let _ = make_blocking(stream.writer);
            return Some(stream.writer);
        }
        let carry = self.spare_carries.pop()?;
        let Ok((reader, writer)) = log_pipe() else {
            let _ = self.spare_carries.push(carry);
            return None;
        };
        let lines = Assembler::new(carry);
        self.streams.push(Stream { reader, writer, slot, dest, lines, run_ended: false }).ok()?;
        Some(writer)
    }

    /// The pipes to watch: those whose destination has no backlog.
    pub fn poll_entries<'a>(&'a self, output: &'a Output) -> impl Iterator<Item = PollFd<'static>> + 'a {
        self.streams
            .iter()
            .filter(|s| output.is_idle(s.dest))
            .map(|s| PollFd::from_borrowed_fd(s.reader, PollFlags::IN))
    }

    /// One read from the pipe `fd`, which poll reported ready.
    pub fn service(&mut self, fd: BorrowedFd<'_>, output: &mut Output) {
        if let Some(stream) = self.streams.iter_mut().find(|s| same(s.reader, fd)) {
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
        let Read::Data(n) = read(stream.reader, chunk) else { return Stop::Empty };
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
