//! Reaping children and waiting for signals, pipes or a deadline.

use crate::core::machine::{Ended, Millis, Pid};

use super::errno;

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
        let mut status = 0;
        // SAFETY: valid out-pointer for the status.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            let ended = if libc::WIFSIGNALED(status) {
                Ended::Signaled(libc::WTERMSIG(status))
            } else {
                Ended::Exited(libc::WEXITSTATUS(status))
            };
            return Reaped::Child { pid, ended };
        }
        if pid == 0 {
            return Reaped::NoneReady;
        }
        match errno() {
            libc::EINTR => continue,
            _ => return Reaped::NoChildren,
        }
    }
}

/// Blocks until one of `fds` is ready or `deadline` (monotonic ms) passes;
/// with no deadline it waits for ever, so an idle init never wakes.
pub fn poll(fds: &mut [libc::pollfd], deadline: Option<Millis>, now: Millis) {
    let timeout = match deadline {
        None => -1,
        Some(at) => i32::try_from(at.saturating_sub(now)).unwrap_or(i32::MAX),
    };
    let count = libc::nfds_t::try_from(fds.len()).unwrap_or(0);
    // SAFETY: `fds` is a valid slice of pollfd of `count` entries.
    unsafe { libc::poll(fds.as_mut_ptr(), count, timeout) };
}
