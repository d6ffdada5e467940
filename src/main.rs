//! The binary: C's `main` straight into the init, skipping any Rust runtime
//! start-up. No std: musl is the static libc (`_start`, `environ`), and a
//! panic, which no code path may reach, would abort.
#![no_std]
#![no_main]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![deny(clippy::undocumented_unsafe_blocks)]

use core::ffi::{c_char, c_int};

// musl's static libc.a (from the target's self-contained directory): std
// would link it, and without std the binary asks for it itself.
#[link(name = "c", kind = "static", modifiers = "-bundle")]
extern "C" {}

/// # Safety
/// Called only by the C runtime, with its own arguments.
#[no_mangle]
pub unsafe extern "C" fn main(_argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: these are the C runtime's own arguments to main.
    unsafe { sidecar_init::run(argv, envp) }
}

/// A panic path the optimiser cannot remove keeps this handler, and its
/// call to a symbol that exists nowhere fails the link (link/cc turns that
/// into one line). `make panic-paths` builds with the `panic-probe` feature,
/// whose handler links, and lists the functions that call into a panic.
#[cfg(not(feature = "panic-probe"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn sidecar_init_a_panic_path_became_reachable() -> !;
    }
    // SAFETY: never called: the link fails if this can be reached at all.
    unsafe { sidecar_init_a_panic_path_became_reachable() }
}

#[cfg(feature = "panic-probe")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: abort takes no arguments and does not return.
    unsafe { libc::abort() }
}
