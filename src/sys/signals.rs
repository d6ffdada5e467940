//! The init's signal set-up and its signalfd.

use super::fds::{read, Fd, Read};

/// Signals the kernel raises for a fault of the init's own: left unblocked
/// so a fault kills it instead of looping.
const FAULTS: [i32; 7] =
    [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGABRT, libc::SIGTRAP, libc::SIGSYS];

fn all_but_faults() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset initialises it.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: valid pointer to a sigset_t.
    unsafe { libc::sigfillset(&mut set) };
    for sig in FAULTS {
        // SAFETY: valid pointer, valid signal number.
        unsafe { libc::sigdelset(&mut set, sig) };
    }
    set
}

/// Blocks every signal but the faults, so signals queue for the signalfd
/// (a blocked signal is queued even for PID 1, which drops default-action ones).
pub fn block_all() {
    let set = all_but_faults();
    // SAFETY: valid set pointer; the old mask is not wanted.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, core::ptr::null_mut()) };
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

/// Puts `sig` back to its default action with a bare system call: it also
/// runs in a spawned child before exec, where only system calls are safe.
pub fn set_default(sig: i32) {
    if sig == libc::SIGKILL || sig == libc::SIGSTOP {
        return;
    }
    let default = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
    // SAFETY: a valid kernel sigaction; invalid numbers fail harmlessly.
    unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, &raw const default, 0, 8) };
}

pub struct SignalFd {
    fd: Fd,
}

impl SignalFd {
    /// A non-blocking signalfd for every signal but the faults.
    pub fn open() -> Option<SignalFd> {
        let set = all_but_faults();
        // SAFETY: valid set; -1 asks for a new descriptor.
        let raw = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        Fd::adopt(raw).map(|fd| SignalFd { fd })
    }

    pub fn raw(&self) -> i32 {
        self.fd.raw()
    }

    /// Calls `each` with every pending signal's number.
    pub fn drain(&self, mut each: impl FnMut(i32)) {
        const INFO: usize = core::mem::size_of::<libc::signalfd_siginfo>();
        let mut buf = [0u8; INFO * 16];
        while let Read::Data(n) = read(self.fd.raw(), &mut buf) {
            for record in buf.get(..n).unwrap_or(&[]).chunks_exact(INFO) {
                // ssi_signo is the record's first field, a native-endian u32.
                if let Some(&[a, b, c, d]) = record.get(..4) {
                    each(i32::try_from(u32::from_ne_bytes([a, b, c, d])).unwrap_or(0));
                }
            }
        }
    }
}
