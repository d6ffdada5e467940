//! System calls made directly with the `syscall` instruction, for the calls
//! rustix has no API for (or keeps a panic path in). Unlike libc's
//! `syscall()`, they leave no `errno`: a failure comes back as the negative
//! error number, the kernel's own convention. So the init needs nothing of
//! musl's thread set-up (errno lives in thread-local storage), and the entry
//! point (`main.rs`) can skip musl's start-up code altogether.

use core::arch::asm;

/// The kernel's result: a value, or `-errno` (-4095..=-1) on failure.
pub type Ret = isize;

/// `ret` as a `Result`: the error is the errno.
pub fn result(ret: Ret) -> Result<usize, i32> {
    if (-4095..0).contains(&ret) {
        Err(i32::try_from(ret.wrapping_neg()).unwrap_or(0))
    } else {
        Ok(ret as usize)
    }
}

/// # Safety
/// `nr` and its arguments must make a system call that is sound here.
#[inline(always)]
pub unsafe fn syscall2(nr: i64, a: usize, b: usize) -> Ret {
    let ret: Ret;
    // SAFETY: the caller's contract; `syscall` clobbers rcx and r11 only.
    unsafe {
        asm!("syscall", inlateout("rax") nr as Ret => ret, in("rdi") a, in("rsi") b,
             lateout("rcx") _, lateout("r11") _, options(nostack))
    };
    ret
}

/// # Safety
/// `nr` and its arguments must make a system call that is sound here.
#[inline(always)]
pub unsafe fn syscall3(nr: i64, a: usize, b: usize, c: usize) -> Ret {
    let ret: Ret;
    // SAFETY: the caller's contract; `syscall` clobbers rcx and r11 only.
    unsafe {
        asm!("syscall", inlateout("rax") nr as Ret => ret, in("rdi") a, in("rsi") b, in("rdx") c,
             lateout("rcx") _, lateout("r11") _, options(nostack))
    };
    ret
}

/// # Safety
/// `nr` and its arguments must make a system call that is sound here.
#[inline(always)]
pub unsafe fn syscall4(nr: i64, a: usize, b: usize, c: usize, d: usize) -> Ret {
    let ret: Ret;
    // SAFETY: the caller's contract; `syscall` clobbers rcx and r11 only.
    unsafe {
        asm!("syscall", inlateout("rax") nr as Ret => ret, in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d,
             lateout("rcx") _, lateout("r11") _, options(nostack))
    };
    ret
}

/// Ends the process (`exit_group`): the init's exit once `run` returns.
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes an integer and does not return.
    unsafe { asm!("syscall", in("rax") libc::SYS_exit_group, in("rdi") code as isize, options(noreturn, nostack)) }
}

/// Ends the calling thread (`exit`): a spawned child whose exec failed.
pub fn exit(code: i32) -> ! {
    // SAFETY: exit takes an integer and does not return.
    unsafe { asm!("syscall", in("rax") libc::SYS_exit, in("rdi") code as isize, options(noreturn, nostack)) }
}
