//! Process identity and signalling.

use crate::core::machine::Pid;

pub fn getpid() -> Pid {
    // SAFETY: always succeeds.
    unsafe { libc::getpid() }
}

/// Makes orphans of our descendants ours to reap when we are not PID 1.
pub fn become_subreaper() {
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// `kill(target, sig)`; a process already gone is not an error worth telling.
pub fn kill(target: Pid, sig: i32) {
    // SAFETY: kill takes plain integers.
    unsafe { libc::kill(target, sig) };
}

pub fn kill_group(leader: Pid, sig: i32) {
    if leader > 0 {
        kill(leader.wrapping_neg(), sig);
    }
}

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
pub fn others_alive() -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    unsafe { libc::kill(-1, 0) == 0 }
}
