//! The binary: C's `main` straight into the init, skipping std's runtime
//! start-up (and its panic and formatting machinery).
#![no_main]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use core::ffi::{c_char, c_int};

/// # Safety
/// Called only by the C runtime, with its own arguments.
#[no_mangle]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: these are the C runtime's own arguments to main.
    unsafe { sidecar_init::run(argc, argv, envp) }
}
