//! The control socket's descriptors: the listener and up to
//! [`MAX_CLIENTS`] clients in the one wait point; accepting, reading
//! requests, sending answers and events. What a request means and what
//! the answers say is `logic::control`'s; the shell serves each request.
//! Nothing here blocks or sets a timer: an idle client is one more poll
//! entry that never fires.

use rustix::event::{PollFd, PollFlags};

use super::logs::PollSet;

use crate::logic::control::{parse_request, Outbox, Request, MAX_CLIENTS, OUTBOX_BYTES, REQUEST_BYTES};
use crate::sys::bytes::find_newline;
use crate::sys::fds::{read, Fd, Read, Written};
use crate::sys::memory;
use crate::sys::socket::{self, send_some};

/// A place for a client: its descriptor (`None`: free), what it asked and
/// the init has not answered yet, whether it takes `events`, and its
/// outbox, in pages that stay untouched (and out of RSS) until an
/// `events` client uses them.
struct Client {
    fd: Option<Fd>,
    asked: Option<Request>,
    streaming: bool,
    outbox: Outbox<'static>,
}

pub struct Control {
    /// `None`: control is off, or listening failed.
    listener: Option<Fd>,
    /// A listener was made: a socket file to remove at exit.
    bound: bool,
    /// Why there is no listener (it could not listen, or was given up),
    /// until the shell logs it.
    pub failed: Option<i32>,
    uid: u32,
    clients: [Client; MAX_CLIENTS],
}

impl Control {
    /// Listens on `addr` (`@NAME` or a path; empty: off). A listen that
    /// fails leaves its error in `failed`: the init runs on without control.
    pub fn open(addr: &[u8]) -> Control {
        let pages = if addr.is_empty() { None } else { memory::pages(MAX_CLIENTS.saturating_mul(OUTBOX_BYTES)) };
        let listening = match pages {
            Some(_) => socket::listen(addr).map(Some),
            None if addr.is_empty() => Ok(None),
            None => Err(libc::ENOMEM),
        };
        let mut chunks = pages.unwrap_or_default().chunks_exact_mut(OUTBOX_BYTES);
        let clients = core::array::from_fn(|_| Client {
            fd: None,
            asked: None,
            streaming: false,
            outbox: Outbox::new(chunks.next().unwrap_or_default()),
        });
        let listener = listening.unwrap_or_default();
        Control { listener, bound: listener.is_some(), failed: listening.err(), uid: socket::own_uid(), clients }
    }

    /// The listener and every client, after the caller's entries: a client
    /// is read until it sends its request; an `events` client is written to
    /// when lines wait for it (its hang-up shows, whatever is asked).
    #[inline(never)]
    pub fn poll_entries(&self, polled: &mut PollSet) {
        if let Some(fd) = self.listener {
            let _ = polled.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        for client in &self.clients {
            if let Some(fd) = client.fd {
                let flags = match (client.streaming, client.outbox.pending().is_empty()) {
                    (false, _) => PollFlags::IN,
                    (true, false) => PollFlags::OUT,
                    (true, true) => PollFlags::empty(),
                };
                let _ = polled.push(PollFd::from_borrowed_fd(fd, flags));
            }
        }
    }

    /// After the wait: `entries` are [`Control::poll_entries`]' with their
    /// readiness (unless `trusted`, each may be ready). Reads what clients
    /// sent, sends what waits for `events` clients, then takes a new client.
    #[inline(never)]
    pub fn after_wait(&mut self, entries: &[PollFd<'_>], trusted: bool) {
        let mut entries = entries.iter();
        let mut ready = || match entries.next() {
            Some(entry) if trusted => entry.revents(),
            _ => PollFlags::IN | PollFlags::OUT,
        };
        let listener = self.listener.filter(|_| !ready().is_empty());
        for at in 0..MAX_CLIENTS {
            let Some(client) = self.clients.get(at).filter(|c| c.fd.is_some()) else { continue };
            let flags = ready();
            // An `events` client is only polled for output: a hang-up or an
            // error is all else that wakes it.
            if client.streaming && flags.intersects(PollFlags::HUP | PollFlags::ERR) {
                self.close(at);
            } else if !flags.is_empty() {
                self.step(at);
            }
        }
        // One connection a wake (the poll is level-triggered: others wait
        // for the next), read at once: its request is usually there already.
        let Some(listener) = listener else { return };
        let fd = match socket::accept(listener) {
            Ok(Some(fd)) => fd,
            Ok(None) => return,
            // Out of descriptors or memory: the listener would stay ready
            // and the wait spin, so the init goes on without control.
            Err(errno) => {
                socket::close(listener);
                self.listener = None;
                self.failed = Some(errno);
                return;
            }
        };
        // A free place, or the first of those still sending their request:
        // a client that sends nothing cannot keep others out.
        let place = self.clients.iter().position(|c| c.fd.is_none());
        let place = place.or_else(|| self.clients.iter().position(|c| !c.streaming && c.asked.is_none()));
        let served = socket::peer_uid(fd).is_some_and(|uid| uid == 0 || uid == self.uid);
        let Some(at) = place.filter(|_| served) else { return socket::close(fd) };
        self.close(at);
        if let Some(client) = self.clients.get_mut(at) {
            client.fd = Some(fd);
        }
        self.step(at);
    }

    /// Moves client `at` on: a client that has not asked is read once (its
    /// whole request line, sent in one write, is kept for the shell; a
    /// bad, cut or overlong one closes it); an `events` client is sent what
    /// waits for it, as much as its socket takes.
    #[inline(never)]
    fn step(&mut self, at: usize) {
        let Some(Client { fd: Some(fd), asked, streaming, outbox }) = self.clients.get_mut(at) else { return };
        let fd = *fd;
        if *streaming {
            while !outbox.pending().is_empty() {
                match send_some(fd, outbox.pending()) {
                    Written::Bytes(n) => outbox.sent(n),
                    Written::WouldBlock => return,
                    Written::Gone(_) => return self.close(at),
                }
            }
            return;
        }
        if asked.is_some() {
            return;
        }
        let mut data = [0u8; REQUEST_BYTES + 1];
        let request = match read(fd, &mut data) {
            Read::Empty => return,
            Read::Data(n) => data.get(..n).and_then(|data| data.get(..find_newline(data)?)).and_then(parse_request),
            Read::Closed | Read::Failed(_) => None,
        };
        match request {
            Some(request) => *asked = Some(request),
            None => self.close(at),
        }
    }

    /// A request a client sent and the shell has not served yet.
    pub fn next_request(&self) -> Option<(usize, Request)> {
        self.clients.iter().enumerate().find_map(|(at, c)| Some((at, c.asked?)).filter(|_| !c.streaming))
    }

    /// Client `at`'s answer, sent once: what its socket does not take at
    /// once is dropped. Then the connection closes.
    pub fn answer(&mut self, at: usize, answer: &[u8]) {
        if let Some(fd) = self.clients.get(at).and_then(|c| c.fd) {
            let _ = send_some(fd, answer);
        }
        self.close(at);
    }

    /// Client `at` asked for `events`: `ok`, then every event.
    pub fn stream(&mut self, at: usize) {
        if let Some(client) = self.clients.get_mut(at) {
            client.streaming = true;
            client.outbox.push(b"ok\n");
        }
        self.step(at);
    }

    fn close(&mut self, at: usize) {
        if let Some(client) = self.clients.get_mut(at) {
            if let Some(fd) = client.fd.take() {
                socket::close(fd);
            }
            client.asked = None;
            client.streaming = false;
            client.outbox.clear();
        }
    }

    /// Whether an `events` client listens: only then are events rendered.
    pub fn streaming(&self) -> bool {
        self.clients.iter().any(|c| c.streaming)
    }

    /// An event's line to every `events` client.
    #[inline(never)]
    pub fn publish(&mut self, line: &[u8]) {
        for at in 0..MAX_CLIENTS {
            if let Some(client) = self.clients.get_mut(at).filter(|c| c.streaming) {
                client.outbox.push(line);
                self.step(at);
            }
        }
    }

    /// The init exits: its socket file goes.
    pub fn remove(&self, addr: &[u8]) {
        if self.bound {
            socket::remove(addr);
        }
    }
}
