//! Process identity and signalling.

use rustix::process::{self, Pid as RustixPid, Signal};

use super::raw::syscall2;
use crate::logic::machine::Pid;

pub fn getpid() -> Pid {
    process::getpid().as_raw_nonzero().get()
}

/// Makes orphans of our descendants ours to reap when we are not PID 1.
pub fn become_subreaper() -> Result<(), rustix::io::Errno> {
    process::set_child_subreaper(Some(process::getpid()))
}

/// `sig` as rustix's type: the named signals, and the real-time ones
/// (32..=64) that rustix only takes unchecked.
fn signal(sig: i32) -> Option<Signal> {
    Signal::from_named_raw(sig).or_else(|| {
        // SAFETY: a real-time number is a valid signal for kill(); it is only
        // sent, never installed as a handler.
        (32..=64).contains(&sig).then(|| unsafe { Signal::from_raw_unchecked(sig) })
    })
}

/// `kill(-leader, sig)`: the daemon's whole process group. A group already
/// gone is not an error worth telling.
pub fn kill_group(leader: Pid, sig: i32) {
    if let (Some(pid), Some(sig)) = (RustixPid::from_raw(leader.max(0)), signal(sig)) {
        let _ = process::kill_process_group(pid, sig);
    }
}

/// `kill(pid, sig)`: the daemon only.
pub fn kill_process(pid: Pid, sig: i32) {
    if let (Some(pid), Some(sig)) = (RustixPid::from_raw(pid.max(0)), signal(sig)) {
        let _ = process::kill_process(pid, sig);
    }
}

/// Every process we may signal: as PID 1, the whole container but us.
pub fn kill_all(sig: i32) {
    kill_everyone(sig);
}

/// Whether any process besides us is left to signal: as PID 1, whether the
/// container holds processes that are not our children (`docker exec`).
/// Signal 0 only checks existence and permission.
pub fn others_alive() -> bool {
    kill_everyone(0)
}

/// `kill(-1, sig)`, which rustix has no call for; whether it reached anyone.
fn kill_everyone(sig: i32) -> bool {
    // SAFETY: kill takes plain integers.
    unsafe { syscall2(libc::SYS_kill, -1isize as usize, sig as usize) == 0 }
}
