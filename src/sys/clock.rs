//! The monotonic clock, in milliseconds (`Instant` would bring panic paths).

use super::raw::syscall2;
use crate::logic::machine::Millis;

pub fn now_ms() -> Millis {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // A plain system call: musl's vDSO lookup would cost more bytes than the
    // few calls per event cost time, and rustix's clock_gettime brings its
    // vDSO parser with its panic paths.
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC cannot fail.
    unsafe { syscall2(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC as usize, (&raw mut ts) as usize) };
    // Both fields are non-negative and far from overflowing: the clock
    // counts from boot, and tv_nsec stays below 10^9.
    (ts.tv_sec as u64).wrapping_mul(1000).wrapping_add(ts.tv_nsec as u64 / 1_000_000)
}
