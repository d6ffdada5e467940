//! The monotonic clock, in milliseconds (`Instant` would bring panic paths),
//! and the wall clock for the control socket's event times.

use super::raw::syscall2;
use crate::logic::machine::Millis;

pub fn now_ms() -> Millis {
    clock_ms(libc::CLOCK_MONOTONIC)
}

/// Unix time in milliseconds.
pub fn unix_ms() -> u64 {
    clock_ms(libc::CLOCK_REALTIME)
}

#[inline(never)]
fn clock_ms(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // A plain system call: musl's vDSO lookup would cost more bytes than the
    // few calls per event cost time, and rustix's clock_gettime brings its
    // vDSO parser with its panic paths.
    // SAFETY: `ts` is a valid out-pointer; these clocks cannot fail.
    unsafe { syscall2(libc::SYS_clock_gettime, clock as usize, (&raw mut ts) as usize) };
    // Both fields are non-negative and far from overflowing: the monotonic
    // clock counts from boot, the wall clock from 1970 (a wall clock set
    // before it would give a wrapped time, never a panic), and tv_nsec stays
    // below 10^9.
    (ts.tv_sec as u64).wrapping_mul(1000).wrapping_add(ts.tv_nsec as u64 / 1_000_000)
}
