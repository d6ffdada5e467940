//! The control socket's descriptors: the listener and up to
//! [`MAX_CLIENTS`](crate::logic::control::MAX_CLIENTS) clients, in the one
//! list the wait watches, after the shell's own; accepting, reading requests, sending answers and events. What a
//! request means and what the answers say is `logic::control`'s; the shell
//! serves each request as it is read. Nothing here blocks or sets a timer:
//! an idle client is one more poll entry that never fires.
//!
//! The socket is SOCK_SEQPACKET: a request, an answer and each event is one
//! message, which the kernel takes whole or not at all. So there is no
//! request buffer, no outbox and no cut line; an `events` client whose
//! socket is full loses the event and is owed a count (`logic::control::deliver`).

use crate::logic::control::{deliver, parse_request, Request, REQUEST_BYTES};
use crate::sys::fds::{self, read, Fd, Read};
use crate::sys::socket::{self, send};

use super::logs::WATCHED;

/// The wait's places before the control socket's: the shell's own (the
/// signalfd, a spawn report for each slot).
pub const OWN: usize = 5;
/// The listener's place; each client's follows, up to [`WATCHED`].
const LISTENER: usize = OWN;

pub struct Control {
    /// What the wait watches: the shell's own [`OWN`] (its to set: the
    /// signalfd, then the read end of each slot's spawn report, in slot
    /// order, while its child is starting), then the listener (`None`: control is off, or listening failed or was
    /// given up), then each client's descriptor (`None`: a free place).
    pub fds: [Option<Fd>; WATCHED],
    /// 0 for a place that takes no events; for an `events` client, 1 and
    /// how many events it lost since it last took one. (Zeros: no tag to
    /// set in each place.)
    events: [u64; WATCHED],
    /// A listener was made: a socket file to remove at exit.
    bound: bool,
    /// Why there is no listener (it could not listen, or was given up),
    /// until the shell logs it.
    pub failed: Option<i32>,
    uid: u32,
}

impl Control {
    /// Listens on `addr` (`@NAME` or a path; empty: off). A listen that
    /// fails leaves its error in `failed`: the init runs on without control.
    pub fn open(addr: &[u8]) -> Control {
        let listening = if addr.is_empty() { Ok(None) } else { socket::listen(addr).map(Some) };
        let mut fds = [None; WATCHED];
        fds[LISTENER] = listening.unwrap_or_default();
        let (bound, failed, uid) = (fds[LISTENER].is_some(), listening.err(), socket::own_uid());
        Control { fds, events: [0; WATCHED], bound, failed, uid }
    }

    /// Which places the wait polls for output (bit i for place i): the
    /// `events` clients owed a count of lost events. The others are polled
    /// for input: a request, or an `events` client's hang-up.
    pub fn out(&self) -> u32 {
        let owed = self.events.iter().enumerate().filter(|(_, &n)| n > 1);
        owed.fold(0, |bits, (at, _)| bits | 1u32.wrapping_shl(at as u32))
    }

    /// After the wait: `ready` has bit i set when place i was polled ready,
    /// or may be. Each ready client is read; then a new one is taken.
    /// Returns the first request read, and whose it is: the shell serves
    /// it at once; other clients' requests wait in their sockets for the
    /// next wake (the poll is level-triggered).
    pub fn after_wait(&mut self, mut ready: u32) -> Option<(usize, Request)> {
        let mut accepted = false;
        loop {
            for at in LISTENER + 1..WATCHED {
                if ready >> at & 1 != 0 {
                    if let Some(request) = self.read(at) {
                        return Some((at, request));
                    }
                }
            }
            if accepted {
                return None;
            }
            accepted = true;
            // One connection a wake (others wait for the next), read at
            // once (the loop again, for it alone): its request is usually
            // there already.
            ready = 1u32.wrapping_shl(self.accept(ready)? as u32);
        }
    }

    /// A waiting connection, if the listener is `ready`, in a place of its
    /// own: where it is.
    fn accept(&mut self, ready: u32) -> Option<usize> {
        let listener = self.fds[LISTENER].filter(|_| ready >> LISTENER & 1 != 0)?;
        let fd = match socket::accept(listener) {
            Ok(fd) => fd?,
            // Out of descriptors or memory: the listener would stay ready
            // and the wait spin, so the init goes on without control.
            Err(errno) => {
                fds::close(listener);
                self.fds[LISTENER] = None;
                self.failed = Some(errno);
                return None;
            }
        };
        // A free place, or the first client that has not sent its request:
        // a client that sends nothing cannot keep others out. (No client
        // holds a request: each is served as it is read.)
        let place = (LISTENER + 1..WATCHED).find(|&at| self.fds.get(at).is_some_and(Option::is_none));
        let place = place.or_else(|| (LISTENER + 1..WATCHED).find(|&at| self.events.get(at) == Some(&0)));
        let served = socket::peer_uid(fd).is_some_and(|uid| uid == 0 || uid == self.uid);
        let Some(at) = place.filter(|_| served) else {
            fds::close(fd);
            return None;
        };
        self.close(at);
        if let Some(place) = self.fds.get_mut(at) {
            *place = Some(fd);
        }
        Some(at)
    }

    /// Reads client `at`: its request, one message (a longer one is cut to
    /// [`REQUEST_BYTES`] by the read, and then is no request). Nothing to
    /// read: an `events` client is sent what it is owed. A bad request, a
    /// hang-up, or anything an `events` client sends closes the client.
    fn read(&mut self, at: usize) -> Option<Request> {
        let fd = (*self.fds.get(at)?)?;
        let mut data = [0u8; REQUEST_BYTES];
        let request = match read(fd, &mut data) {
            // Nothing to read: the poll said writable. Every client owed a
            // count is sent it if its socket takes it now, this one among
            // them (one loop for all, no second for one).
            Read::Empty => return self.publish_all(None),
            Read::Data(n) if self.events.get(at) == Some(&0) => data.get(..n).and_then(parse_request),
            _ => None,
        };
        if request.is_none() {
            self.close(at);
        }
        request
    }

    /// Client `at`'s answer, one message, sent once: if its socket does
    /// not take it at once, it is dropped. Then the connection closes.
    pub fn answer(&mut self, at: usize, answer: &[u8]) {
        if let Some(&Some(fd)) = self.fds.get(at) {
            send(fd, answer);
        }
        self.close(at);
    }

    /// Client `at` asked for `events`: `ok`, then every event.
    pub fn stream(&mut self, at: usize) {
        if let (Some(&Some(fd)), Some(events)) = (self.fds.get(at), self.events.get_mut(at)) {
            // Not taken: the first event it lost (see `publish_all`).
            *events = if send(fd, b"ok\n") { 1 } else { 2 };
        }
    }

    fn close(&mut self, at: usize) {
        if let Some(fd) = self.fds.get_mut(at).and_then(Option::take) {
            fds::close(fd);
        }
        if let Some(events) = self.events.get_mut(at) {
            *events = 0;
        }
    }

    /// An event's line to every `events` client.
    pub fn publish(&mut self, line: &[u8]) {
        self.publish_all(Some(line));
    }

    /// `line` (if any) to each client that takes events, after the count of
    /// those it lost, if it lost any and its socket takes it now.
    #[inline(never)]
    fn publish_all(&mut self, line: Option<&[u8]>) -> Option<Request> {
        for at in LISTENER + 1..WATCHED {
            if let (Some(&Some(fd)), Some(events)) = (self.fds.get(at), self.events.get_mut(at)) {
                if *events > 0 {
                    let mut dropped = events.wrapping_sub(1);
                    deliver(&mut dropped, line, |message| send(fd, message));
                    // 2^64 - 1 lost events are out of reach: no wrap to 0.
                    *events = dropped.wrapping_add(1);
                }
            }
        }
        None
    }

    /// The init exits: its socket file goes.
    pub fn remove(&self, addr: &[u8]) {
        if self.bound {
            socket::remove(addr);
        }
    }
}
