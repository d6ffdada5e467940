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

    /// `clone(flags)` that runs `child(arg)` on the stack ending at `stack_top`
    /// (16-byte aligned) and ends the child with `exit(child's result)` should it
    /// ever return. Returns the child's pid, or `-errno`.
    ///
    /// # Safety
    /// As musl's `clone`: with CLONE_VM the child shares our memory, so `child`
    /// must only make system calls, and `arg` and the stack must stay alive
    /// until it has exec'd or exited (CLONE_VFORK waits for that).
    pub unsafe fn clone(
        flags: i32,
        stack_top: *mut u8,
        child: extern "C" fn(*mut core::ffi::c_void) -> i32,
        arg: *mut core::ffi::c_void,
    ) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract. The child starts with our registers
        // but rax = 0 and rsp = stack_top: it calls `child` there (rsp 16-byte
        // aligned before the call, as the ABI wants) and exits, never returning
        // into our frame. The parent only sees rax, rcx and r11 change.
        unsafe {
            asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "xor ebp, ebp",
                "mov rdi, r12",
                "call r13",
                "mov edi, eax",
                "mov eax, {exit}",
                "syscall",
                "ud2",
                "2:",
                exit = const libc::SYS_exit,
                inlateout("rax") libc::SYS_clone as Ret => ret,
                in("rdi") flags as isize,
                in("rsi") stack_top,
                in("rdx") 0usize,
                in("r10") 0usize,
                in("r8") 0usize,
                in("r12") arg,
                in("r13") child,
                lateout("rcx") _,
                lateout("r11") _,
            )
        };
        ret
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

    /// `clone(flags)` that runs `child(arg)` on the stack ending at
    /// `stack_top` (16-byte aligned) and ends the child with `exit(child's
    /// result)` should it ever return. Returns the child's pid, or `-errno`.
    ///
    /// # Safety
    /// As musl's `clone`: with CLONE_VM the child shares our memory, so
    /// `child` must only make system calls, and `arg` and the stack must stay
    /// alive until it has exec'd or exited (CLONE_VFORK waits for that).
    pub unsafe fn clone(
        flags: i32,
        stack_top: *mut u8,
        child: extern "C" fn(*mut core::ffi::c_void) -> i32,
        arg: *mut core::ffi::c_void,
    ) -> Ret {
        let ret: Ret;
        // SAFETY: the caller's contract. The child starts with our registers
        // but x0 = 0 and sp = stack_top: with a zeroed frame chain it calls
        // `child` there and exits, never returning into our frame. The
        // parent only sees x0 change. The kernel's argument order here is
        // flags, stack, parent_tid, tls, child_tid (x86_64 swaps the last
        // two); all three are unused, so zero either way.
        unsafe {
            asm!(
                "svc 0",
                "cbnz x0, 2f",
                "mov x29, xzr",
                "mov x30, xzr",
                "mov x0, x9",
                "blr x10",
                "mov x8, {exit}",
                "svc 0",
                "udf #0",
                "2:",
                exit = const libc::SYS_exit,
                in("x8") libc::SYS_clone,
                inlateout("x0") flags as isize => ret,
                in("x1") stack_top,
                in("x2") 0usize,
                in("x3") 0usize,
                in("x4") 0usize,
                in("x9") arg,
                in("x10") child,
            )
        };
        ret
    }
}
