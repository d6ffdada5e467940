//! What each signal to the init means (SPEC's signal table) and signal names.

use super::slot::Slot;

pub use libc::{SIGCHLD, SIGHUP, SIGINT, SIGKILL, SIGTERM, SIGUSR1};

/// What a signal to the init asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Shutdown,
    Restart(Slot),
    Forward(Slot),
    Reap,
    Ignore,
}

/// `SIGRTMIN+1` … `+4` in Docker's numbering: restart egress, pipelock, git-gate, supervise.
pub const RESTART_EGRESS: i32 = KERNEL_SIGRTMIN + 1;
pub const RESTART_PIPELOCK: i32 = KERNEL_SIGRTMIN + 2;
pub const RESTART_GIT_GATE: i32 = KERNEL_SIGRTMIN + 3;
pub const RESTART_SUPERVISE: i32 = KERNEL_SIGRTMIN + 4;

pub fn route(sig: i32) -> Route {
    match sig {
        SIGTERM | SIGINT => Route::Shutdown,
        SIGUSR1 | RESTART_PIPELOCK => Route::Restart(Slot::Pipelock),
        RESTART_EGRESS => Route::Restart(Slot::Egress),
        RESTART_GIT_GATE => Route::Restart(Slot::GitGate),
        RESTART_SUPERVISE => Route::Restart(Slot::Supervise),
        SIGHUP => Route::Forward(Slot::Egress),
        SIGCHLD => Route::Reap,
        _ => Route::Ignore,
    }
}

/// Signal `sig`'s bit in a kernel signal mask (0 for numbers outside 1..=64).
pub fn bit(sig: i32) -> u64 {
    u32::try_from(sig.wrapping_sub(1)).ok().and_then(|n| 1u64.checked_shl(n)).unwrap_or(0)
}

/// The kernel's first real-time signal; `docker kill --signal RTMIN+k` sends this plus k.
pub const KERNEL_SIGRTMIN: i32 = 34;

/// The classic signals' names without "SIG", six bytes each (blank-padded),
/// from 1 (HUP) to 31 (SYS): one packed string instead of 32 slices.
const NAMES: &[u8; 186] = b"\
HUP   INT   QUIT  ILL   TRAP  ABRT  BUS   FPE   KILL  USR1  SEGV  USR2  PIPE  ALRM  TERM  \
STKFLTCHLD  CONT  STOP  TSTP  TTIN  TTOU  URG   XCPU  XFSZ  VTALRMPROF  WINCH IO    PWR   SYS   ";

/// The name of a classic signal without "SIG"; `None` for real-time and
/// unknown numbers, which `report` writes as `SIGRTMIN+k` or a number.
pub fn name(sig: i32) -> Option<&'static [u8]> {
    // 0 and negative numbers wrap far past the table's end.
    Some(packed(NAMES, 6, (sig as usize).wrapping_sub(1))).filter(|name| !name.is_empty())
}

/// Entry `at` of `table`, names of `width` bytes each, blank-padded (one
/// string instead of a slice per name); empty past its end.
#[inline(never)]
pub fn packed(table: &'static [u8], width: usize, at: usize) -> &'static [u8] {
    let at = at.wrapping_mul(width);
    let name = table.get(at..at.wrapping_add(width)).unwrap_or_default();
    name.get(..name.iter().position(|&b| b == b' ').unwrap_or(width)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_table_routes() {
        assert_eq!(route(SIGTERM), Route::Shutdown);
        assert_eq!(route(SIGINT), Route::Shutdown);
        assert_eq!(route(SIGUSR1), Route::Restart(Slot::Pipelock));
        assert_eq!(route(SIGHUP), Route::Forward(Slot::Egress));
        assert_eq!(route(SIGCHLD), Route::Reap);
        for other in [libc::SIGUSR2, libc::SIGWINCH, libc::SIGQUIT, libc::SIGPIPE, KERNEL_SIGRTMIN] {
            assert_eq!(route(other), Route::Ignore);
        }
        for other in [KERNEL_SIGRTMIN + 5, KERNEL_SIGRTMIN + 6, 64, 32, 33, 0, -1, 65] {
            assert_eq!(route(other), Route::Ignore, "{other}");
        }
    }

    #[test]
    fn rtmin_1_to_4_restart_the_slots_in_slot_order() {
        // Docker's RTMIN is the kernel's 34: `docker kill --signal RTMIN+2` sends 36.
        assert_eq!(route(35), Route::Restart(Slot::Egress));
        assert_eq!(route(36), Route::Restart(Slot::Pipelock));
        assert_eq!(route(37), Route::Restart(Slot::GitGate));
        assert_eq!(route(38), Route::Restart(Slot::Supervise));
        for (k, slot) in (1..).zip(Slot::ALL) {
            assert_eq!(route(KERNEL_SIGRTMIN + k), Route::Restart(slot));
        }
    }

    #[test]
    fn names_match_numbers() {
        assert_eq!(name(libc::SIGHUP), Some(&b"HUP"[..]));
        assert_eq!(name(libc::SIGTERM), Some(&b"TERM"[..]));
        assert_eq!(name(libc::SIGSYS), Some(&b"SYS"[..]));
        assert_eq!(name(libc::SIGSTKFLT), Some(&b"STKFLT"[..]));
        assert_eq!(name(32), None);
        assert_eq!(name(libc::SIGWINCH), Some(&b"WINCH"[..]));
        assert_eq!(name(0), None);
        assert_eq!(name(-1), None);
        assert_eq!(name(i32::MIN), None);
        assert_eq!(name(65), None);
        assert_eq!(name(KERNEL_SIGRTMIN), None);
    }
}
