//! The init's stdout and stderr as sinks that never block the wait point.
//!
//! When fd 1 or 2 is a pipe (Docker's log pipes), the init writes through an
//! open file description of its own with O_NONBLOCK (reopened through
//! /proc/self/fd; daemons keep the shared, blocking one). What the reader is
//! not ready for waits in a backlog that the wait point flushes on POLLOUT;
//! while a sink has a backlog the pump reads no pipe bound for it, so the
//! back-pressure reaches the daemons, and signals, deadlines and reaping go
//! on. The init's own notes that find no room are counted and reported once
//! the sink drains.

use rustix::event::{PollFd, PollFlags};

use crate::core::line::Line;
use crate::core::machine::Millis;
use crate::core::report::PREFIX;
use crate::sys::bytes::{copy, move_to_front};
use crate::sys::clock::now_ms;
use crate::sys::fds::{self, same_pipe, write_some, Fd, Written, STDERR, STDOUT};
use crate::sys::memory;

/// Room for everything one pipe read can turn into (see `pump::CHUNK`) plus
/// a few hundred notes.
pub const BACKLOG: usize = 256 * 1024;

/// Which of the init's own outputs a line goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    Stderr,
}

pub struct Sink {
    fd: Fd,
    backlog: &'static mut [u8],
    start: usize,
    end: usize,
    dropped: u64,
}

impl Sink {
    fn open(fd: Fd) -> Option<Sink> {
        let backlog = memory::pages(BACKLOG)?;
        let fd = match fds::open_sink(fd) {
            fds::Sink::OwnDescription(fd) | fds::Sink::SharedPipe(fd, _) | fds::Sink::NotAPipe(fd) => fd,
        };
        Some(Sink { fd, backlog, start: 0, end: 0, dropped: 0 })
    }

    /// Nothing waits to be written: the pump may read for this sink.
    pub fn is_idle(&self) -> bool {
        self.start == self.end
    }

    /// Appends `pieces` as one whole line, or nothing when it does not fit.
    pub fn push(&mut self, pieces: &[&[u8]]) -> bool {
        let len = pieces.iter().fold(0usize, |sum, piece| sum.saturating_add(piece.len()));
        if self.end.saturating_add(len) > self.backlog.len() {
            // What was written from the front is free again.
            self.end = move_to_front(self.backlog, self.start, self.end);
            self.start = 0;
        }
        let Some(room) = self.backlog.get_mut(self.end..self.end.saturating_add(len)) else {
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

    /// Writes what the reader takes now, without waiting.
    pub fn flush(&mut self) {
        while let Some(pending) = self.backlog.get(self.start..self.end).filter(|p| !p.is_empty()) {
            match write_some(self.fd, pending) {
                Written::Bytes(n) => self.start = self.start.saturating_add(n),
                Written::WouldBlock => return,
                // Nobody reads any more: drop the backlog, carry on.
                Written::Gone(_) => self.start = self.end,
            }
        }
        if self.dropped > 0 {
            // Said where it happened: the lines missing from this stream.
            let mut line = Line::new();
            line.str(PREFIX).num(self.dropped).str(" lines dropped while output was blocked\n");
            self.dropped = 0;
            self.push(&[line.as_bytes()]);
            self.flush();
        }
    }

    /// Waits (until `deadline` at most) for the reader to take the backlog.
    pub fn flush_until(&mut self, deadline: Millis) {
        self.flush();
        while !self.is_idle() {
            let now = now_ms();
            if now >= deadline {
                return;
            }
            let mut entry = [PollFd::from_borrowed_fd(self.fd, PollFlags::OUT)];
            let _ = crate::sys::wait::poll(&mut entry, Some(deadline), now);
            self.flush();
        }
    }

    /// POLLOUT on the sink's descriptor while a backlog waits; otherwise no
    /// entry: a pipe with no reader left reports POLLERR whatever is asked,
    /// and would wake an idle init for ever.
    pub fn poll_entry(&self) -> Option<PollFd<'static>> {
        (!self.is_idle()).then(|| PollFd::from_borrowed_fd(self.fd, PollFlags::OUT))
    }
}

/// The init's stdout (daemon lines) and stderr (daemon lines and notes).
/// When both are the same pipe (`2>&1 | reader`) one sink serves both, so a
/// line cut by a partial write is always finished before any other.
pub struct Output {
    out: Sink,
    /// `None`: stderr is the same pipe as stdout.
    err: Option<Sink>,
}

impl Output {
    pub fn open() -> Option<Output> {
        let out = Sink::open(STDOUT)?;
        let err = if same_pipe(STDOUT, STDERR) { None } else { Some(Sink::open(STDERR)?) };
        Some(Output { out, err })
    }

    /// The sink for `dest`.
    pub fn sink(&mut self, dest: Dest) -> &mut Sink {
        match (&mut self.err, dest) {
            (Some(err), Dest::Stderr) => err,
            _ => &mut self.out,
        }
    }

    pub fn is_idle(&self, dest: Dest) -> bool {
        match (&self.err, dest) {
            (Some(err), Dest::Stderr) => err.is_idle(),
            _ => self.out.is_idle(),
        }
    }

    /// Poll entries for the sinks that wait to write.
    pub fn poll_entries(&self) -> impl Iterator<Item = PollFd<'static>> + '_ {
        self.out.poll_entry().into_iter().chain(self.err.as_ref().and_then(Sink::poll_entry))
    }

    /// Writes what the readers take now.
    pub fn flush(&mut self) {
        self.out.flush();
        if let Some(err) = &mut self.err {
            err.flush();
        }
    }

    pub fn flush_until(&mut self, deadline: Millis) {
        self.out.flush_until(deadline);
        if let Some(err) = &mut self.err {
            err.flush_until(deadline);
        }
    }

    /// One of the init's own lines, on stderr.
    pub fn note(&mut self, line: &[u8]) {
        let err = self.sink(Dest::Stderr);
        err.push(&[line]);
        err.flush();
    }
}
