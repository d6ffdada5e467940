//! The log pump: reads the daemons' stdout and stderr pipes and writes each
//! line to the init's own stdout or stderr as `[slot] line`, one whole line
//! at a time, so no line is ever interleaved with another daemon's.

use heapless::Vec;

use crate::core::lines::{Assembler, MAX_LINE};
use crate::core::machine::Pid;
use crate::core::slot::Slot;
use crate::sys::fds::{read, write_all, Fd, Read};
use crate::sys::memory;

/// Two streams a slot, a first run and a restart each, with one restart's
/// pipes still draining (a grandchild may hold them open).
pub const MAX_STREAMS: usize = 16;
/// One read takes what a full default pipe holds.
const CHUNK: usize = 64 * 1024;
/// Batched output; always room for one more whole line with its prefix.
const OUT: usize = 32 * 1024;

struct Stream {
    fd: Fd,
    slot: Slot,
    /// The init's descriptor the lines go to.
    dest: i32,
    /// The daemon run writing into it.
    owner: Pid,
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

    /// Whether two more streams fit: one run's stdout and stderr.
    pub fn has_room_for_run(&self) -> bool {
        self.spare_carries.len() >= 2
    }

    pub fn add(&mut self, slot: Slot, owner: Pid, fd: Fd, dest: i32) {
        if let Some(carry) = self.spare_carries.pop() {
            let stream = Stream { fd, slot, dest, owner, lines: Assembler::new(carry) };
            if let Err(stream) = self.streams.push(stream) {
                let _ = self.spare_carries.push(stream.lines.into_buffer());
            }
        }
    }

    /// The pipes to watch, as poll entries.
    pub fn poll_entries(&self) -> impl Iterator<Item = libc::pollfd> + '_ {
        self.streams.iter().map(|s| libc::pollfd { fd: s.fd.raw(), events: libc::POLLIN, revents: 0 })
    }

    /// One read from the stream on `fd`, which poll reported ready.
    pub fn service(&mut self, fd: i32) {
        if let Some(at) = self.streams.iter().position(|s| s.fd.raw() == fd) {
            self.pump(at, false);
        }
    }

    /// Everything a run wrote before it died, read before its death is logged.
    pub fn drain_owner(&mut self, owner: Pid) {
        let mut at = 0;
        while let Some(stream) = self.streams.get(at) {
            if stream.owner == owner && self.pump(at, true) {
                continue; // removed: the next stream moved into `at`
            }
            at = at.saturating_add(1);
        }
    }

    /// Drains every pipe and delivers unfinished last lines: the init exits.
    pub fn finish(&mut self) {
        while !self.streams.is_empty() {
            self.pump(0, true);
            if let Some(stream) = take(&mut self.streams, 0) {
                self.close(stream);
            }
        }
    }

    /// Reads stream `at` once (or until empty with `drain`); returns whether it closed.
    fn pump(&mut self, at: usize, drain: bool) -> bool {
        let Some(stream) = self.streams.get_mut(at) else { return false };
        let mut out = Out::new(&mut *self.out, stream.slot, stream.dest);
        let mut closed = false;
        loop {
            match read(stream.fd.raw(), &mut *self.chunk) {
                Read::Data(n) => {
                    let data = self.chunk.get(..n).unwrap_or(&[]);
                    stream.lines.feed(data, &mut |line| out.line(line));
                    if !drain {
                        break;
                    }
                }
                Read::Empty => break,
                Read::Closed => {
                    closed = true;
                    break;
                }
            }
        }
        out.flush();
        if closed {
            if let Some(stream) = take(&mut self.streams, at) {
                self.close(stream);
            }
        }
        closed
    }

    /// The stream ended: deliver its last unfinished line, recycle its buffer.
    fn close(&mut self, mut stream: Stream) {
        let mut out = Out::new(&mut *self.out, stream.slot, stream.dest);
        stream.lines.finish(&mut |line| out.line(line));
        out.flush();
        let _ = self.spare_carries.push(stream.lines.into_buffer());
    }
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

/// Removes entry `at`, the last one taking its place.
fn take(streams: &mut Vec<Stream, MAX_STREAMS>, at: usize) -> Option<Stream> {
    // SAFETY: `at` is checked to be in bounds first.
    (at < streams.len()).then(|| unsafe { streams.swap_remove_unchecked(at) })
}
