//! The binary: the process entry point straight into the init, skipping
//! any Rust runtime start-up and musl's too. No std: musl is the static libc
//! only for `memchr`, `memcpy` and the like, which need no set-up; the init
//! makes its system calls itself and keeps no `errno`, so musl's thread and
//! `environ` set-up (and its exit path) would be dead weight. A panic, which
//! no code path may reach, would abort.
#![no_std]
#![no_main]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![deny(clippy::undocumented_unsafe_blocks)]

use core::ffi::c_char;

// musl's static libc.a (from the target's self-contained directory): std
// would link it, and without std the binary asks for it itself.
#[link(name = "c", kind = "static", modifiers = "-bundle")]
extern "C" {}

// The process entry point (link/cc leaves out musl's crt1.o, crti.o and
// crtn.o for this binary). The kernel starts it with the stack pointer at
// argc, followed by argv, NULL, envp, NULL; `start` gets that address, on a
// 16-byte-aligned stack as the ABI wants at a call, with the frame chain
// ended (a zero frame pointer, and on aarch64 a zero link register).
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym start,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "and sp, x0, #-16",
    "bl {start}",
    "udf #0",
    start = sym start,
);

// Size, aarch64 only: musl's aarch64 memcpy, memmove and memset are
// unrolled, cache-tuned assembly (952 bytes together; x86_64's are a few
// `rep movs`). These are 8 bytes a step, then bytes: what the init copies
// and clears is lines and buffers of a few KiB at most. In the binary only
// (not the library), so test harnesses keep musl's. memmove copies forward
// unless the destination starts inside the source, then backwards by bytes.
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl memcpy",
    ".type memcpy,%function",
    "memcpy:",
    "mov x3, x0",
    "1:",
    "cmp x2, #8",
    "b.lo 2f",
    "ldr x4, [x1], #8",
    "str x4, [x3], #8",
    "sub x2, x2, #8",
    "b 1b",
    "2:",
    "cbz x2, 3f",
    "ldrb w4, [x1], #1",
    "strb w4, [x3], #1",
    "sub x2, x2, #1",
    "b 2b",
    "3:",
    "ret",
    ".globl memmove",
    ".type memmove,%function",
    "memmove:",
    // (dst - src) as unsigned < n only when dst lies inside [src, src + n).
    "sub x3, x0, x1",
    "cmp x3, x2",
    "b.hs memcpy",
    "add x1, x1, x2",
    "add x3, x0, x2",
    "4:",
    "cbz x2, 5f",
    "ldrb w4, [x1, #-1]!",
    "strb w4, [x3, #-1]!",
    "sub x2, x2, #1",
    "b 4b",
    "5:",
    "ret",
    ".globl memset",
    ".type memset,%function",
    "memset:",
    "mov x3, x0",
    "and x4, x1, #0xff",
    "mov x5, #0x0101010101010101",
    "mul x4, x4, x5",
    "6:",
    "cmp x2, #8",
    "b.lo 7f",
    "str x4, [x3], #8",
    "sub x2, x2, #8",
    "b 6b",
    "7:",
    "cbz x2, 8f",
    "strb w4, [x3], #1",
    "sub x2, x2, #1",
    "b 7b",
    "8:",
    "ret",
);

/// # Safety
/// Called only by `_start`, with the kernel's initial stack pointer.
unsafe extern "C" fn start(stack: *const usize) -> ! {
    // SAFETY: the kernel's initial stack: argc, then argc argument pointers
    // and a NULL, then the environment's pointers and a NULL. Both arrays
    // live, unchanged, as long as the process.
    let code = unsafe {
        let argc = *stack;
        let argv = stack.add(1).cast::<*const c_char>();
        let envp = argv.add(argc).add(1);
        sidecar_init::run(argv, envp)
    };
    sidecar_init::sys::raw::exit_group(code)
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
    // SAFETY: an undefined instruction raises SIGILL, a fault: the init dies of it.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("ud2", options(noreturn))
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("udf #0", options(noreturn))
    }
}
