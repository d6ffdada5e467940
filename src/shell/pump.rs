//! The log pump: reads the daemons' stdout and stderr pipes and writes each
//! line to the init's own stdout or stderr as `[slot] line`, one whole line
//! at a time, so no line is ever interleaved with another daemon's.
//!
//! Each slot has one stdout and one stderr pipe for the init's lifetime,
//! made at its first start and handed to every later run. The init keeps the
//! write ends (close-on-exec), so the pipes never close under it: a restart
//! or a grandchild holding an old run's pipe cannot use up descriptors, and
//! a dead run's unfinished last line is delivered when the run is reaped.

use heapless::Vec;

use crate::core::lines::{Assembler, MAX_LINE};
use crate::core::slot::Slot;
use crate::sys::fds::{log_pipe, read, write_all, Fd, Read, STDERR, STDOUT};
use crate::sys::memory;

/// A stdout and a stderr pipe for each of the four slots.
pub const MAX_STREAMS: usize = 2 * Slot::ALL.len();
/// One read takes what a full default pipe holds.
const CHUNK: usize = 64 * 1024;
/// Batched output; always room for one more whole line with its prefix.
const OUT: usize = 32 * 1024;

struct Stream {
    reader: Fd,
    writer: Fd,
    slot: Slot,
    /// The init's descriptor the lines go to: 1 or 2, as the daemon's.
    dest: i32,
    lines: Assembler<'static>,
}

pub struct Pump {
    streams: Vec<Stream, MAX_STREAMS>,
    spare_carries: Vec<&'static mut [u8], MAX_STREAMS>,
    chunk: &'static mut [u8],
    out: &'static mut [u8],
}

impl Pump {
    pub fn new() -> Option<Pump> {
        let pages = memory::pages(CHUNK + OUT + MAX_STREAMS * MAX_LINE)?;
        let (chunk, rest) = pages.split_at_mut_checked(CHUNK)?;
        let (out, mut carries) = rest.split_at_mut_checked(OUT)?;
        let mut spare_carries = Vec::new();
        while let Some((carry, rest)) = carries.split_at_mut_checked(MAX_LINE) {
            let _ = spare_carries.push(carry);
            carries = rest;
        }
        Some(Pump { streams: Vec::new(), spare_carries, chunk, out })
    }

    /// The write ends a run of `slot` takes as stdout and stderr; the pipes
    /// are made at the slot's first start. `None` when they cannot be made.
    pub fn writers(&mut self, slot: Slot) -> Option<(i32, i32)> {
        if !self.streams.iter().any(|s| s.slot == slot) {
            self.open(slot, STDOUT)?;
            self.open(slot, STDERR)?;
        }
        let writer = |dest| self.streams.iter().find(|s| s.slot == slot && s.dest == dest).map(|s| s.writer.raw());
        Some((writer(STDOUT)?, writer(STDERR)?))
    }

    fn open(&mut self, slot: Slot, dest: i32) -> Option<()> {
        let (reader, writer) = log_pipe()?;
        let carry = self.spare_carries.pop()?;
        let stream = Stream { reader, writer, slot, dest, lines: Assembler::new(carry) };
        if let Err(stream) = self.streams.push(stream) {
            let _ = self.spare_carries.push(stream.lines.into_buffer());
            return None;
        }
        Some(())
    }

    /// The pipes to watch, as poll entries.
    pub fn poll_entries(&self) -> impl Iterator<Item = libc::pollfd> + '_ {
        self.streams.iter().map(|s| libc::pollfd { fd: s.reader.raw(), events: libc::POLLIN, revents: 0 })
    }

    /// One read from the pipe `fd`, which poll reported ready.
    pub fn service(&mut self, fd: i32) {
        if let Some(stream) = self.streams.iter_mut().find(|s| s.reader.raw() == fd) {
            pump(stream, self.chunk, self.out, Drain::Once);
        }
    }

    /// A run of `slot` was reaped: everything it wrote, its unfinished last
    /// line included, goes out before its death is logged.
    pub fn drain_slot(&mut self, slot: Slot) {
        for stream in self.streams.iter_mut().filter(|s| s.slot == slot) {
            pump(stream, self.chunk, self.out, Drain::AndFinish);
        }
    }

    /// The init exits: every pipe is drained and every last line delivered.
    pub fn finish(&mut self) {
        for stream in self.streams.iter_mut() {
            pump(stream, self.chunk, self.out, Drain::AndFinish);
        }
    }
}

#[derive(PartialEq, Eq)]
enum Drain {
    /// One read: poll said there is data; others get their turn next.
    Once,
    /// Read until the pipe is empty, then deliver the unfinished line.
    AndFinish,
}

fn pump(stream: &mut Stream, chunk: &mut [u8], out: &mut [u8], drain: Drain) {
    let mut out = Out::new(out, stream.slot, stream.dest);
    while let Read::Data(n) = read(stream.reader.raw(), chunk) {
        stream.lines.feed(chunk.get(..n).unwrap_or(&[]), &mut |line| out.line(line));
        if drain == Drain::Once {
            break;
        }
    }
    if drain == Drain::AndFinish {
        stream.lines.finish(&mut |line| out.line(line));
    }
    out.flush();
}

/// Prefixed lines batched into one buffer and written whole.
struct Out<'a> {
    buf: &'a mut [u8],
    used: usize,
    dest: i32,
    prefix: Vec<u8, 16>,
}

impl<'a> Out<'a> {
    fn new(buf: &'a mut [u8], slot: Slot, dest: i32) -> Self {
        let mut prefix = Vec::new();
        for &byte in b"[".iter().chain(slot.name().as_bytes()).chain(b"] ") {
            let _ = prefix.push(byte);
        }
        Out { buf, used: 0, dest, prefix }
    }

    fn line(&mut self, line: &[u8]) {
        let needed = self.prefix.len().saturating_add(line.len()).saturating_add(1);
        if self.used.saturating_add(needed) > self.buf.len() {
            self.flush();
        }
        let Some(room) = self.buf.get_mut(self.used..) else { return };
        let pieces = self.prefix.iter().chain(line).chain(b"\n");
        let mut written = 0usize;
        for (to, &from) in room.iter_mut().zip(pieces) {
            *to = from;
            written = written.saturating_add(1);
        }
        self.used = self.used.saturating_add(written);
    }

    fn flush(&mut self) {
        write_all(self.dest, self.buf.get(..self.used).unwrap_or(&[]));
        self.used = 0;
    }
}
