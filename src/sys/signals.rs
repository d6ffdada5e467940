//! The init's signal set-up and its signalfd.

use core::sync::atomic::{AtomicU64, Ordering};

use super::fds::{adopt, read, Fd, Read};
use super::raw::{syscall4, Ret};
use crate::logic::signals::bit;

/// Signals the kernel raises for a fault of the init's own: left unblocked
/// so a fault kills it instead of looping.
const FAULTS: [i32; 7] =
    [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGABRT, libc::SIGTRAP, libc::SIGSYS];

/// Fault signals sent by another process since the last look, bit n-1 for
/// signal n. The handler only sets bits; the wait point reads them.
static SENT_FAULTS: AtomicU64 = AtomicU64::new(0);

/// Catches the fault signals: a real fault (the kernel's, si_code > 0)
/// puts the default action back and returns, so the faulting instruction
/// runs again and the fault kills the init as it should (a SIGTRAP or
/// SIGSYS, raised after its instruction, ends the init at once); one sent with
/// kill() or tkill() (si_code <= 0) is only noted, so another process
/// cannot kill the init with it (as under `docker run --init`).
extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, _: *mut core::ffi::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { info.as_ref() }.map_or(1, |info| info.si_code);
    if code <= 0 {
        SENT_FAULTS.fetch_or(bit(sig), Ordering::Relaxed);
    } else if sig == libc::SIGTRAP || sig == libc::SIGSYS {
        // Reported after the instruction (a breakpoint, a seccomp trap):
        // nothing runs it again, so end here, as the fault would.
        super::raw::exit_group(128_i32.wrapping_add(sig));
    } else {
        set_default(sig);
    }
}

extern "C" {
    /// musl's return trampoline for signal handlers (rt_sigreturn), which
    /// x86_64 requires in the kernel's sigaction.
    fn __restore_rt();
}

/// The kernel's flag saying `restorer` is set.
const SA_RESTORER: libc::c_ulong = 0x0400_0000;

/// Installs [`on_fault`] for every fault signal with a bare system call
/// (musl's sigaction costs half a KiB; rustix's is in its unstable
/// "runtime" feature). Returns false when one could not be installed.
pub fn catch_sent_faults() -> bool {
    let action = KernelSigaction {
        handler: on_fault as *const () as libc::sighandler_t,
        flags: libc::SA_SIGINFO as libc::c_ulong | SA_RESTORER,
        restorer: __restore_rt as *const () as usize,
        mask: 0,
    };
    let mut all = true;
    for &sig in &FAULTS {
        all &= sigaction(sig, &action) == 0;
    }
    all
}

/// Calls `each` with every fault signal sent since the last call.
pub fn take_sent_faults(mut each: impl FnMut(i32)) {
    let sent = SENT_FAULTS.swap(0, Ordering::Relaxed);
    for &sig in &FAULTS {
        if sent & bit(sig) != 0 {
            each(sig);
        }
    }
}

/// The kernel's signal mask (bit n-1 for signal n) with every signal but the
/// faults. Built by hand: musl's sigfillset leaves out 32–34, which it keeps
/// for itself, and those would then kill the init (34 is Docker's RTMIN).
/// Made at compile time: a loop over [`FAULTS`] at run time costs bytes.
const ALL_BUT_FAULTS: u64 = {
    let mut mask = u64::MAX;
    let mut rest: &[i32] = &FAULTS;
    while let [sig, tail @ ..] = rest {
        mask &= !1u64.wrapping_shl(sig.wrapping_sub(1) as u32);
        rest = tail;
    }
    mask
};

/// Bytes of the kernel's sigset_t.
const KERNEL_SIGSET: usize = 8;

/// Blocks every signal but the faults, so signals queue for the signalfd
/// (a blocked signal is queued even for PID 1, which drops default-action ones).
pub fn block_all() {
    set_mask(ALL_BUT_FAULTS);
}

/// Sets the signal mask with a bare system call (rustix's sigprocmask is in
/// its unstable "runtime" feature and keeps musl's 32–34) (it also runs in a
/// spawned child before exec, where only system calls are safe).
pub fn set_mask(mask: u64) {
    // SAFETY: a valid kernel sigset; the old mask is not wanted.
    unsafe {
        syscall4(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK as usize, (&raw const mask) as usize, 0, KERNEL_SIGSET)
    };
}

/// Puts every catchable signal back to its default action: an inherited
/// SIG_IGN for SIGCHLD would make the kernel reap daemons behind our back.
pub fn reset_dispositions() {
    for sig in 1..=64 {
        set_default(sig);
    }
}

/// The kernel's own `struct sigaction` (not libc's, which differs).
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Puts `sig` back to its default action with a bare system call (rustix's
/// sigaction is in its unstable "runtime" feature): it also
/// runs in a spawned child before exec, where only system calls are safe.
pub fn set_default(sig: i32) {
    if sig == libc::SIGKILL || sig == libc::SIGSTOP {
        return;
    }
    let default = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
    sigaction(sig, &default);
}

/// `rt_sigaction(sig, action, NULL)`, for the two actions this file makes:
/// the default one and [`on_fault`]; invalid numbers fail harmlessly.
fn sigaction(sig: i32, action: &KernelSigaction) -> Ret {
    // SAFETY: a valid kernel sigaction whose handler is SIG_DFL or
    // `on_fault`, which only touches an atomic and makes one system call;
    // the old action is not wanted.
    unsafe { syscall4(libc::SYS_rt_sigaction, sig as usize, core::ptr::from_ref(action) as usize, 0, KERNEL_SIGSET) }
}

pub struct SignalFd {
    fd: Fd,
}

impl SignalFd {
    /// A non-blocking signalfd for every signal but the faults.
    pub fn open() -> Option<SignalFd> {
        let mask = ALL_BUT_FAULTS;
        let flags = libc::SFD_CLOEXEC | libc::SFD_NONBLOCK;
        // rustix has no signalfd.
        // SAFETY: a valid kernel sigset; -1 asks for a new descriptor.
        let raw = unsafe {
            syscall4(libc::SYS_signalfd4, -1isize as usize, (&raw const mask) as usize, KERNEL_SIGSET, flags as usize)
        };
        adopt(i32::try_from(raw).ok()?).map(|fd| SignalFd { fd })
    }

    pub fn fd(&self) -> Fd {
        self.fd
    }

    /// Records read from the signalfd at one wake.
    pub const BATCH: usize = 16;

    /// Calls `each` with the numbers of up to [`SignalFd::BATCH`] pending signals.
    pub fn read_batch(&self, mut each: impl FnMut(i32)) {
        const INFO: usize = core::mem::size_of::<libc::signalfd_siginfo>();
        let mut buf = [0u8; INFO * SignalFd::BATCH];
        if let Read::Data(n) = read(self.fd, &mut buf) {
            for record in buf.get(..n).unwrap_or(&[]).chunks_exact(INFO) {
                // ssi_signo is the record's first field, a native-endian u32.
                if let Some(&[a, b, c, d]) = record.get(..4) {
                    each(i32::try_from(u32::from_ne_bytes([a, b, c, d])).unwrap_or(0));
                }
            }
        }
    }
}
