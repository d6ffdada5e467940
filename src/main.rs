//! The binary: C's `main` straight into the init, skipping std's runtime
//! start-up (and its panic and formatting machinery).
#![no_main]

use core::ffi::{c_char, c_int};

#[no_mangle]
pub extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: these are the C runtime's own arguments to main.
    unsafe { sidecar_init::run(argc, argv, envp) }
}
