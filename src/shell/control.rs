//! The control socket's descriptors: the listener and up to
//! [`MAX_CLIENTS`] clients in the one wait point; accepting, reading
//! requests, sending answers and events. What a request means and what
//! the answers say is `logic::control`'s; the shell serves each request as
//! it is read. Nothing here blocks or sets a timer: an idle client is one
//! more poll entry that never fires.
//!
//! The socket is SOCK_SEQPACKET: a request, an answer and each event is one
//! message, which the kernel takes whole or not at all. So there is no
//! request buffer, no outbox and no cut line; an `events` client whose
//! socket is full loses the event and is owed a count (`logic::control::deliver`).

use rustix::event::{PollFd, PollFlags};

use super::logs::PollSet;

use crate::logic::control::{deliver, parse_request, Request, MAX_CLIENTS, REQUEST_BYTES};
use crate::sys::fds::{read, Fd, Read, Written};
use crate::sys::socket::{self, send_some};

/// A place for a client: its descriptor (`None`: free) and, for an
/// `events` client, how many events it lost since it last took one.
#[derive(Clone, Copy, Default)]
struct Client {
    fd: Option<Fd>,
    events: Option<u64>,
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
        let listening = if addr.is_empty() { Ok(None) } else { socket::listen(addr).map(Some) };
        let listener = listening.unwrap_or_default();
        let clients = [Client::default(); MAX_CLIENTS];
        Control { listener, bound: listener.is_some(), failed: listening.err(), uid: socket::own_uid(), clients }
    }

    /// The listener and every client, after the caller's entries: a client
    /// is read until it sends its request; an `events` client is written to
    /// only while it is owed a count of lost events (its hang-up shows,
    /// whatever is asked).
    #[inline(never)]
    pub fn poll_entries(&self, polled: &mut PollSet) {
        if let Some(fd) = self.listener {
            let _ = polled.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        for client in &self.clients {
            if let Some(fd) = client.fd {
                let flags = match client.events {
                    None => PollFlags::IN,
                    Some(0) => PollFlags::empty(),
                    Some(_) => PollFlags::OUT,
                };
                let _ = polled.push(PollFd::from_borrowed_fd(fd, flags));
            }
        }
    }

    /// After the wait: `entries` are [`Control::poll_entries`]' with their
    /// readiness (unless `trusted`, each may be ready). Tells `events`
    /// clients what they lost, closes those that hung up, then takes a new
    /// client. Returns the first request read, and whose it is: the shell
    /// serves it at once; other clients' requests wait in their sockets
    /// for the next wake (the poll is level-triggered).
    #[inline(never)]
    pub fn after_wait(&mut self, entries: &[PollFd<'_>], trusted: bool) -> Option<(usize, Request)> {
        let mut entries = entries.iter();
        let mut ready = || match entries.next() {
            Some(entry) if trusted => entry.revents(),
            _ => PollFlags::IN | PollFlags::OUT,
        };
        let listener = self.listener.filter(|_| !ready().is_empty());
        for at in 0..MAX_CLIENTS {
            let Some(client) = self.clients.get(at).filter(|c| c.fd.is_some()) else { continue };
            let flags = ready();
            if flags.is_empty() {
                continue;
            }
            // An `events` client is only polled for output: a hang-up or an
            // error is all else that wakes it.
            if client.events.is_none() {
                if let Some(request) = self.read(at) {
                    return Some((at, request));
                }
            } else if flags.intersects(PollFlags::HUP | PollFlags::ERR) {
                self.close(at);
            } else {
                self.publish_to(at, None);
            }
        }
        // One connection a wake (others wait for the next), read at once:
        // its request is usually there already.
        let fd = match socket::accept(listener?) {
            Ok(fd) => fd?,
            // Out of descriptors or memory: the listener would stay ready
            // and the wait spin, so the init goes on without control.
            Err(errno) => {
                socket::close(listener?);
                self.listener = None;
                self.failed = Some(errno);
                return None;
            }
        };
        // A free place, or the first client that has not sent its request:
        // a client that sends nothing cannot keep others out. (No client
        // holds a request: each is served as it is read.)
        let place = self.clients.iter().position(|c| c.fd.is_none());
        let place = place.or_else(|| self.clients.iter().position(|c| c.events.is_none()));
        let served = socket::peer_uid(fd).is_some_and(|uid| uid == 0 || uid == self.uid);
        let Some(at) = place.filter(|_| served) else {
            socket::close(fd);
            return None;
        };
        self.close(at);
        if let Some(client) = self.clients.get_mut(at) {
            client.fd = Some(fd);
        }
        Some((at, self.read(at)?))
    }

    /// Reads client `at`'s request: one message (a longer one is cut to
    /// [`REQUEST_BYTES`] by the read, and then is no request); `None`: none
    /// yet, or a bad one, which closes the client.
    fn read(&mut self, at: usize) -> Option<Request> {
        let fd = self.clients.get(at)?.fd?;
        let mut data = [0u8; REQUEST_BYTES];
        let request = match read(fd, &mut data) {
            Read::Empty => return None,
            Read::Data(n) => data.get(..n).and_then(parse_request),
            Read::Closed | Read::Failed(_) => None,
        };
        if request.is_none() {
            self.close(at);
        }
        request
    }

    /// Client `at`'s answer, one message, sent once: if its socket does
    /// not take it at once, it is dropped. Then the connection closes.
    pub fn answer(&mut self, at: usize, answer: &[u8]) {
        if let Some(fd) = self.clients.get(at).and_then(|c| c.fd) {
            let _ = send_some(fd, answer);
        }
        self.close(at);
    }

    /// Client `at` asked for `events`: `ok`, then every event.
    pub fn stream(&mut self, at: usize) {
        if let Some(client) = self.clients.get_mut(at) {
            client.events = Some(0);
        }
        self.publish_to(at, Some(b"ok\n"));
    }

    fn close(&mut self, at: usize) {
        if let Some(client) = self.clients.get_mut(at) {
            if let Some(fd) = client.fd.take() {
                socket::close(fd);
            }
            client.events = None;
        }
    }

    /// An event's line to every `events` client.
    #[inline(never)]
    pub fn publish(&mut self, line: &[u8]) {
        for at in 0..MAX_CLIENTS {
            self.publish_to(at, Some(line));
        }
    }

    /// `line` (if any) to client `at` if it takes events, after the count
    /// of those it lost, if it lost any and its socket takes it now.
    #[inline(never)]
    fn publish_to(&mut self, at: usize, line: Option<&[u8]>) {
        let Some(Client { fd: Some(fd), events: Some(dropped) }) = self.clients.get_mut(at) else { return };
        let fd = *fd;
        deliver(dropped, line, |message| matches!(send_some(fd, message), Written::Bytes(_)));
    }

    /// The init exits: its socket file goes.
    pub fn remove(&self, addr: &[u8]) {
        if self.bound {
            socket::remove(addr);
        }
    }
}
