//! System calls made directly with the `syscall` (x86_64) or `svc 0`
//! (aarch64) instruction, for the calls rustix has no API for (or keeps a
//! panic path in). Unlike libc's `syscall()`, they leave no `errno`: a
//! failure comes back as the negative error number, the kernel's own
//! convention. So the init needs nothing of musl's thread set-up (errno
//! lives in thread-local storage), and the entry point (`main.rs`) can skip
//! musl's start-up code altogether. Each architecture's twin is below; the
//! system call numbers come from `libc::SYS_*`, which differ between them
//! (aarch64 has no `open` or `dup2`, hence `openat` and rustix's `dup3`).

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sidecar-init's raw system calls exist for x86_64 and aarch64 only");

#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

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

#[cfg(target_arch = "x86_64")]
mod x86_64 {
    use super::Ret;
    use core::arch::asm;

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

    /// # Safety
    /// `nr` and its arguments must make a system call that is sound here.
    #[inline(always)]
    pub unsafe fn syscall5(nr: i64, a: usize, b: usize, c: usize, d: usize, e: usize) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract; `syscall` clobbers rcx and r11 only.
        unsafe {
            asm!("syscall", inlateout("rax") nr as Ret => ret, in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d,
                 in("r8") e, lateout("rcx") _, lateout("r11") _, options(nostack))
        };
        ret
    }

    /// # Safety
    /// `nr` and its arguments must make a system call that is sound here.
    #[inline(always)]
    pub unsafe fn syscall6(nr: i64, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract; `syscall` clobbers rcx and r11 only.
        unsafe {
            asm!("syscall", inlateout("rax") nr as Ret => ret, in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d,
                 in("r8") e, in("r9") f, lateout("rcx") _, lateout("r11") _, options(nostack))
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
}

#[cfg(target_arch = "aarch64")]
mod aarch64 {
    use super::Ret;
    use core::arch::asm;

    /// # Safety
    /// `nr` and its arguments must make a system call that is sound here.
    #[inline(always)]
    pub unsafe fn syscall2(nr: i64, a: usize, b: usize) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract; `svc 0` changes x0 only.
        unsafe { asm!("svc 0", in("x8") nr, inlateout("x0") a as Ret => ret, in("x1") b, options(nostack)) };
        ret
    }

    /// # Safety
    /// `nr` and its arguments must make a system call that is sound here.
    #[inline(always)]
    pub unsafe fn syscall3(nr: i64, a: usize, b: usize, c: usize) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract; `svc 0` changes x0 only.
        unsafe {
            asm!("svc 0", in("x8") nr, inlateout("x0") a as Ret => ret, in("x1") b, in("x2") c, options(nostack))
        };
        ret
    }

    /// # Safety
    /// `nr` and its arguments must make a system call that is sound here.
    #[inline(always)]
    pub unsafe fn syscall4(nr: i64, a: usize, b: usize, c: usize, d: usize) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract; `svc 0` changes x0 only.
        unsafe {
            asm!("svc 0", in("x8") nr, inlateout("x0") a as Ret => ret, in("x1") b, in("x2") c, in("x3") d,
                 options(nostack))
        };
        ret
    }

    /// # Safety
    /// `nr` and its arguments must make a system call that is sound here.
    #[inline(always)]
    pub unsafe fn syscall5(nr: i64, a: usize, b: usize, c: usize, d: usize, e: usize) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract; `svc 0` changes x0 only.
        unsafe {
            asm!("svc 0", in("x8") nr, inlateout("x0") a as Ret => ret, in("x1") b, in("x2") c, in("x3") d,
                 in("x4") e, options(nostack))
        };
        ret
    }

    /// # Safety
    /// `nr` and its arguments must make a system call that is sound here.
    #[inline(always)]
    pub unsafe fn syscall6(nr: i64, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract; `svc 0` changes x0 only.
        unsafe {
            asm!("svc 0", in("x8") nr, inlateout("x0") a as Ret => ret, in("x1") b, in("x2") c, in("x3") d,
                 in("x4") e, in("x5") f, options(nostack))
        };
        ret
    }

    /// Ends the process (`exit_group`): the init's exit once `run` returns.
    pub fn exit_group(code: i32) -> ! {
        // SAFETY: exit_group takes an integer and does not return.
        unsafe { asm!("svc 0", in("x8") libc::SYS_exit_group, in("x0") code as isize, options(noreturn, nostack)) }
    }

    /// Ends the calling thread (`exit`): a spawned child whose exec failed.
    pub fn exit(code: i32) -> ! {
        // SAFETY: exit takes an integer and does not return.
        unsafe { asm!("svc 0", in("x8") libc::SYS_exit, in("x0") code as isize, options(noreturn, nostack)) }
    }
}
