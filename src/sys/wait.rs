//! Reaping children and waiting for signals, pipes or a deadline.

use rustix::event::{poll as rustix_poll, PollFd, Timespec};
use rustix::io::Errno;
use rustix::process::{wait, WaitOptions};

use crate::logic::machine::{Ended, Millis, Pid};

pub enum Reaped {
    Child {
        pid: Pid,
        ended: Ended,
    },
    /// Children exist, none has exited.
    NoneReady,
    /// No child exists at all.
    NoChildren,
}

pub fn reap_one() -> Reaped {
    loop {
        return match wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                let ended = match status.terminating_signal() {
                    Some(sig) => Ended::Signaled(sig),
                    None => Ended::Exited(status.exit_status().unwrap_or(0)),
                };
                Reaped::Child { pid: pid.as_raw_nonzero().get(), ended }
            }
            Ok(None) => Reaped::NoneReady,
            Err(Errno::INTR) => continue,
            // ECHILD; nothing else can come of a WNOHANG wait for any child.
            Err(_) => Reaped::NoChildren,
        };
    }
}

/// Blocks until one of `fds` is ready or `deadline` (monotonic ms) passes;
/// with no deadline it waits for ever, so an idle init never wakes.
/// An interrupted poll counts as a wake with nothing ready.
pub fn poll(fds: &mut [PollFd<'_>], deadline: Option<Millis>, now: Millis) -> Result<(), Errno> {
    let timeout = deadline.map(|at| {
        let wait = at.saturating_sub(now);
        // Both fit: seconds of a u64 of milliseconds are below 2^54.
        Timespec { tv_sec: (wait / 1000) as i64, tv_nsec: (wait % 1000).wrapping_mul(1_000_000) as i64 }
    });
    match rustix_poll(fds, timeout.as_ref()) {
        Ok(_) | Err(Errno::INTR) => Ok(()),
        Err(errno) => Err(errno),
    }
}
