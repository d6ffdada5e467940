//! The log pipes and the init's stdout and stderr: the descriptors, and the
//! reads and writes that [`Routing`] asks for. Nothing here decides.
//!
//! Each slot has one stdout and one stderr pipe for the init's lifetime,
//! made at start-up and handed to every run. The init keeps the write ends
//! (close-on-exec), so the pipes never close under it: a restart or a
//! grandchild holding an old run's pipe cannot use up descriptors.

use heapless::Vec;
use rustix::event::{PollFd, PollFlags};

use crate::logic::assembler::MAX_LINE;
use crate::logic::control::MAX_CLIENTS;
use crate::logic::line::Line;
use crate::logic::machine::Millis;
use crate::logic::routing::{Routing, Sink, SinkId, StreamId, WriteMode, DRAIN_READS, MAX_STREAMS, READ, READ_ROOM};
use crate::logic::slot::{PerSlot, Slot};
use crate::logic::trouble::{Trouble, Troubles, DEGRADED_WAKE_MS};
use crate::sys::clock::now_ms;
use crate::sys::fds::{self, log_pipe, make_blocking, read, same_pipe, write_some, Fd, Read, Written, STDERR, STDOUT};
use crate::sys::memory;
use crate::sys::wait::poll;

/// Room for everything one read can turn into ([`READ_ROOM`]) behind four
/// reads' worth waiting for the reader: reads and writes overlap while the
/// reader keeps up. One read ahead relayed 47 % of a pipe copy where four
/// did 67 % (eight: no more), at the price of pages that stay resident
/// after a flood (RSS 456 KiB under one, against 208).
pub const BACKLOG: usize = READ_ROOM + 4 * READ;

/// The descriptors of one stream, in [`Routing`]'s order.
struct Pipe {
    reader: Fd,
    writer: Fd,
}

pub struct Logs {
    pub routing: Routing<'static>,
    out: Fd,
    err: Fd,
    pipes: Vec<Pipe, MAX_STREAMS>,
    chunk: &'static mut [u8],
    /// What degraded, each kind once, for the shell to log.
    troubles: Troubles,
    /// The last poll failed: wake regularly and read every pipe.
    degraded: bool,
}

impl Logs {
    /// The init's stdout and stderr as sinks, and, with `prefix`, a pipe pair
    /// for each selected slot. `troubles` gets what degraded on the way.
    /// `None`: no memory for the buffers.
    pub fn open(selected: &PerSlot<bool>, prefix: bool) -> Option<Logs> {
        let mut troubles = Troubles::new();
        let shared = same_pipe(STDOUT, STDERR);
        let (out_fd, out_mode) = sink_of(STDOUT, SinkId::Stdout, &mut troubles);
        let out = Sink::new(memory::pages(BACKLOG)?, out_mode);
        let (err_fd, err) = if shared {
            (out_fd, None)
        } else {
            let (fd, mode) = sink_of(STDERR, SinkId::Stderr, &mut troubles);
            (fd, Some(Sink::new(memory::pages(BACKLOG)?, mode)))
        };
        let chunk = memory::pages(READ)?;
        let routing = Routing::new(out, err);
        let mut logs = Logs { routing, out: out_fd, err: err_fd, pipes: Vec::new(), chunk, troubles, degraded: false };
        if prefix {
            logs.open_pipes(selected)?;
        }
        Some(logs)
    }

    /// Something degraded; logged once per kind by the shell. Inlined: a
    /// call of its own costs its callers 16 bytes more.
    #[inline(always)]
    pub fn trouble(&mut self, trouble: Trouble) {
        self.troubles.add(trouble);
    }

    /// The next trouble to log, each kind once.
    pub fn next_trouble(&mut self) -> Option<Trouble> {
        self.troubles.take()
    }

    /// Both pipes of every selected slot, now, so that a low descriptor
    /// limit shows at start-up, naming the slot, and never later.
    fn open_pipes(&mut self, selected: &PerSlot<bool>) -> Option<()> {
        // Room for every stream: pages no stream uses are never touched.
        let mut carries = memory::pages(MAX_STREAMS * MAX_LINE)?;
        for &slot in &Slot::ALL {
            if !*selected.get(slot) {
                continue;
            }
            let (out, err) = match (log_pipe(), log_pipe()) {
                (Ok(out), Ok(err)) => (out, err),
                (Err(errno), _) | (_, Err(errno)) => {
                    self.trouble(Trouble::Unprefixed { slot, errno: errno.raw_os_error() });
                    continue;
                }
            };
            for &((reader, writer), sink) in &[(out, SinkId::Stdout), (err, SinkId::Stderr)] {
                let Some((carry, rest)) = core::mem::take(&mut carries).split_at_mut_checked(MAX_LINE) else { break };
                carries = rest;
                if self.routing.add_stream(slot, sink, carry).is_some() {
                    let _ = self.pipes.push(Pipe { reader, writer });
                }
            }
        }
        Some(())
    }

    /// The write ends a run of `slot` takes as stdout and stderr; `None`:
    /// the run writes to the init's own, unprefixed (said at start-up).
    #[inline(always)]
    pub fn pipes_for(&self, slot: Slot) -> Option<(Fd, Fd)> {
        // Streams and pipes are in the same order, and a slot's two are
        // added together (`open_pipes`), its stdout's first.
        let (first, _) = self.routing.streams().find(|(_, stream)| stream.slot == slot)?;
        let out = self.pipes.get(first)?.writer;
        let err = self.pipes.get(first.wrapping_add(1))?.writer;
        // Every run starts with blocking stdio, as a fresh pipe would give it.
        let _ = make_blocking(out);
        let _ = make_blocking(err);
        Some((out, err))
    }

    fn fd(&self, sink: SinkId) -> Fd {
        match sink {
            SinkId::Stdout => self.out,
            SinkId::Stderr => self.err,
        }
    }

    /// One read; false when the pipe had nothing (more).
    fn read_once(&mut self, stream: StreamId) -> bool {
        let Some(pipe) = self.pipes.get(stream) else { return false };
        match read(pipe.reader, self.chunk) {
            Read::Data(n) => {
                self.routing.on_data(stream, self.chunk.get(..n).unwrap_or(&[]));
                true
            }
            Read::Empty | Read::Closed => false,
            Read::Failed(errno) => {
                self.trouble(Trouble::ReadFailed { errno: errno as i32 });
                false
            }
        }
    }

    /// A run of `slot` was reaped: what it wrote, its unfinished last line
    /// included, goes to the sinks now, whatever their backlog, so it comes
    /// before its death note and before any line of the next run. Bounded
    /// reads: a grandchild may keep writing.
    pub fn drain_slot(&mut self, slot: Slot) {
        for id in 0..self.pipes.len() {
            if self.routing.stream_slot(id) != Some(slot) {
                continue;
            }
            for _ in 0..DRAIN_READS {
                if !self.read_once(id) {
                    break;
                }
            }
            self.routing.finish_line(id);
        }
    }

    /// Writes what every sink may write now.
    pub fn flush(&mut self) {
        for &sink in self.routing.sink_list() {
            let fd = self.fd(sink);
            let backlog = self.routing.sink(sink);
            while let Some(bytes) = backlog.to_write() {
                match write_some(fd, bytes) {
                    Written::Bytes(n) => backlog.wrote(n),
                    Written::WouldBlock => break,
                    Written::Gone(errno) => {
                        backlog.reader_gone();
                        self.troubles.add(Trouble::OutputGone { sink, errno: errno as i32 });
                        break;
                    }
                }
            }
        }
    }

    /// The one wait: polls `watched` (the shell's: the signalfd, the spawn
    /// reports, the control socket's; `None` entries are skipped; for input,
    /// or output where bit i of `out` is set), the sinks with a backlog and the
    /// pipes whose sink has room, until `deadline`; then marks the writable
    /// sinks and, unless one of `watched` was ready, reads each ready pipe
    /// once, starting at the next stream in turn. A ready `watched` entry is
    /// served alone: the shell reads it before any pipe, and the pipes, still
    /// ready, wake the next wait at once; so a signal waits for one read per
    /// pipe at most. Returns which of `watched` (bit i for `watched[i]`)
    /// were polled ready or may be: a failed poll (EINVAL: more entries than
    /// RLIMIT_NOFILE now allows) is logged once and degrades the wait to
    /// `watched` and the sinks alone, or nothing, for [`DEGRADED_WAKE_MS`]
    /// at most, after which every pipe is read; each wait tries everything
    /// again first.
    pub fn wait(&mut self, watched: &[Option<Fd>], out: u32, deadline: Option<Millis>, now: Millis) -> u32 {
        // The shell's descriptors and the sinks, which come first: what a
        // degraded wait still watches.
        let watched = watched.get(..WATCHED).unwrap_or(watched);
        let mut polled: Vec<PollFd<'static>, POLLED> = Vec::new();
        // What each entry of `polled` stands for, at the same index (zeros:
        // each is set with its entry, and only those are read).
        let mut sources = [0; POLLED];
        for (i, fd) in watched.iter().enumerate() {
            if let Some(fd) = *fd {
                let flags = if out >> i & 1 == 0 { PollFlags::IN } else { PollFlags::OUT };
                add(&mut polled, &mut sources, WATCHED_0 | i as u8, PollFd::from_borrowed_fd(fd, flags));
            }
        }
        for &sink in self.routing.sink_list() {
            if self.routing.sink_ref(sink).wants_writable() {
                add(
                    &mut polled,
                    &mut sources,
                    SINK | sink as u8,
                    PollFd::from_borrowed_fd(self.fd(sink), PollFlags::OUT),
                );
            }
        }
        let essentials = polled.len();
        // Round-robin: reads go in poll order, and a read can leave its sink
        // without room for the next pipe bound for it, which then waits.
        let mut id = self.routing.next_turn();
        for _ in 0..self.pipes.len() {
            if let (Some(pipe), true) = (self.pipes.get(id), self.routing.wants_read(id)) {
                add(&mut polled, &mut sources, id as u8, PollFd::from_borrowed_fd(pipe.reader, PollFlags::IN));
            }
            id = self.routing.after(id);
        }
        let soon = now.saturating_add(DEGRADED_WAKE_MS);
        let capped = Some(deadline.map_or(soon, |at| at.min(soon)));
        let trusted = match poll(&mut polled, if self.degraded { capped } else { deadline }, now) {
            Ok(_) => true,
            Err(errno) => {
                self.trouble(Trouble::PollFailed { errno: errno.raw_os_error() });
                // A sink written only when poll says so must still drain.
                if poll(polled.get_mut(..essentials).unwrap_or(&mut []), capped, now).is_err() {
                    let _ = poll(&mut [], capped, now);
                }
                false
            }
        };
        self.degraded = !trusted;
        let mut watched_ready = if trusted { 0 } else { u32::MAX };
        for (entry, &source) in polled.iter().zip(&sources) {
            let ready = !entry.revents().is_empty();
            match source {
                SINK_OUT if ready => self.routing.sink(SinkId::Stdout).on_writable(),
                SINK_ERR if ready => self.routing.sink(SinkId::Stderr).on_writable(),
                // Reads are non-blocking: without trusted readiness, try
                // them all. The shell's descriptors come first, and a ready
                // one (a signal) is served before any pipe is read.
                id if id < SINK
                    && (ready || !trusted)
                    && (watched_ready == 0 || !trusted)
                    && self.routing.wants_read(id.into()) =>
                {
                    self.read_once(id.into());
                }
                // The shift takes the low five bits: `i`'s index in `watched`.
                i if i >= WATCHED_0 && ready => watched_ready |= 1u32.wrapping_shl(u32::from(i)),
                _ => {}
            }
        }
        watched_ready
    }

    /// The init exits: the pipes are read in turn until all are empty and
    /// every last line delivered, for as long as the readers take it, until
    /// `deadline` at most. What is left then is dropped, and said once if
    /// there is room. Not inlined into the init's one long function, where
    /// it would cost 58 bytes more.
    #[inline(never)]
    pub fn finish(&mut self, deadline: Millis, code: u8) {
        loop {
            let mut more = false;
            for id in 0..self.pipes.len() {
                if self.routing.wants_read(id) {
                    more |= self.read_once(id);
                }
            }
            self.flush();
            let now = now_ms();
            let idle = self.routing.is_idle();
            if now >= deadline || (!more && idle) {
                break;
            }
            if !idle {
                // A sink waits for its reader.
                self.wait(&[], 0, Some(deadline), now);
            }
        }
        for id in 0..self.pipes.len() {
            self.routing.finish_line(id);
        }
        self.flush();
        for &sink in self.routing.sink_list() {
            let backlog = self.routing.sink(sink);
            if let Some(line) = backlog.give_up(code) {
                // One try, within the sink's write mode: the reader had its time.
                backlog.push(&[line.as_bytes()]);
                let now = now_ms();
                self.wait(&[], 0, Some(now), now);
                self.flush();
            }
        }
    }

    /// One of the init's own lines, on stderr, written at once if it can be.
    pub fn note(&mut self, line: &Line) {
        self.routing.note(line.as_bytes());
        self.flush();
    }
}

/// What a poll entry stands for: a stream's index, or one of these.
const SINK: u8 = 0x10;
const SINK_OUT: u8 = SINK | SinkId::Stdout as u8;
const SINK_ERR: u8 = SINK | SinkId::Stderr as u8;
/// The shell's descriptor at index `i` of `watched` is `WATCHED_0 | i`.
const WATCHED_0: u8 = 0x20;

/// Descriptors of the shell's in one wait: the signalfd, a report for
/// each slot, the control socket's listener and clients.
pub const WATCHED: usize = 5 + 1 + MAX_CLIENTS;

/// Entries of the wait point: the shell's, two sinks, every pipe.
const POLLED: usize = MAX_STREAMS + 2 + WATCHED;

/// Appends a poll entry and what it stands for.
fn add(polled: &mut Vec<PollFd<'static>, POLLED>, sources: &mut [u8; POLLED], source: u8, entry: PollFd<'static>) {
    if let Some(slot) = sources.get_mut(polled.len()) {
        *slot = source;
        let _ = polled.push(entry);
    }
}

/// The descriptor and write mode for the init's `fd` (1 or 2).
fn sink_of(fd: Fd, sink: SinkId, troubles: &mut Troubles) -> (Fd, WriteMode) {
    match fds::open_sink(fd) {
        fds::Sink::OwnDescription(own) => (own, WriteMode::NonBlocking),
        fds::Sink::SharedPipe(shared, errno) => {
            troubles.add(Trouble::SharedOutput { sink, errno });
            (shared, WriteMode::WhenPolled)
        }
        fds::Sink::NotAPipe(fd) => (fd, WriteMode::Direct),
    }
}
