//! Process identity and signalling.

use rustix::process;

use super::raw::syscall2;
use crate::logic::machine::Pid;

pub fn getpid() -> Pid {
    process::getpid().as_raw_nonzero().get()
}

/// Makes orphans of our descendants ours to reap when we are not PID 1.
pub fn become_subreaper() -> Result<(), rustix::io::Errno> {
    process::set_child_subreaper(Some(process::getpid()))
}

/// `kill(-leader, sig)`: the daemon's whole process group. A group already
/// gone is not an error worth telling.
pub fn kill_group(leader: Pid, sig: i32) {
    if leader > 0 {
        kill(leader.wrapping_neg(), sig);
    }
}

/// `kill(pid, sig)`: the daemon only.
pub fn kill_process(pid: Pid, sig: i32) {
    if pid > 0 {
        kill(pid, sig);
    }
}

/// Every process we may signal: as PID 1, the whole container but us.
pub fn kill_all(sig: i32) {
    kill(-1, sig);
}

/// Whether any process besides us is left to signal: as PID 1, whether the
/// container holds processes that are not our children (`docker exec`).
/// Signal 0 only checks existence and permission.
pub fn others_alive() -> bool {
    kill(-1, 0)
}

/// `kill(pid, sig)` as a bare system call: rustix has none for -1, and its
/// `Signal` type takes the real-time signals only unchecked. A number that
/// is no signal fails with EINVAL, harmlessly. Whether it reached anyone.
fn kill(pid: Pid, sig: i32) -> bool {
    // SAFETY: kill takes plain integers.
    unsafe { syscall2(libc::SYS_kill, pid as usize, sig as usize) == 0 }
}
