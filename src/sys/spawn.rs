//! Starting a daemon: a CLONE_VM | CLONE_VFORK child, as musl's posix_spawn
//! does it, but with no allocation at all (musl's file actions malloc) and
//! only raw system calls between clone and execve. The child resets every
//! signal disposition, becomes a session leader, takes its log pipes as
//! stdout and stderr, clears its signal mask and execs; an exec error is
//! handed back through the shared memory, as the parent sleeps until then.

use core::ffi::{c_char, c_int, c_void};
use core::mem::MaybeUninit;

use crate::core::machine::Pid;
use crate::core::words::{Command, MAX_WORDS};

/// Where a PATH lookup goes when PATH is unset.
pub const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";

pub type Envp = *const *const c_char;

/// A path with its NUL: PATH_MAX.
type PathBuf = heapless::Vec<u8, 4096>;

/// Stack for the child until it execs: it only makes system calls.
const CHILD_STACK: usize = 8 * 1024;

/// Everything the child needs, prepared by the parent; `error` comes back.
struct Plan {
    path: *const c_char,
    argv: *const *const c_char,
    envp: Envp,
    out: c_int,
    err: c_int,
    error: c_int,
}

/// Starts `command` with `stdio` (stdout, stderr) as its 1 and 2, or the
/// init's own when `None`; the error is an errno (ENOENT when a bare name is
/// on no PATH entry).
pub fn spawn(command: &Command, search_path: &[u8], envp: Envp, stdio: Option<(i32, i32)>) -> Result<Pid, i32> {
    let mut resolved = PathBuf::new();
    let path = if command.program().contains(&b'/') {
        command.program_with_nul()
    } else {
        resolve(command.program(), search_path, &mut resolved)?;
        &resolved
    };
    let mut argv: [*const c_char; MAX_WORDS + 1] = [core::ptr::null(); MAX_WORDS + 1];
    for (slot, word) in argv.iter_mut().zip(command.words_with_nul()) {
        *slot = word.as_ptr().cast();
    }
    let mut plan = Plan {
        path: path.as_ptr().cast(),
        argv: argv.as_ptr(),
        envp,
        out: stdio.map_or(-1, |(out, _)| out),
        err: stdio.map_or(-1, |(_, err)| err),
        error: 0,
    };
    let mut stack = MaybeUninit::<[u8; CHILD_STACK]>::uninit();
    // SAFETY: the stack grows down from its end, which is 16-byte aligned
    // below; CLONE_VFORK keeps this frame (plan, argv, stack) alive and
    // untouched until the child has exec'd or exited.
    let pid = unsafe {
        let top = stack.as_mut_ptr().cast::<u8>().add(CHILD_STACK);
        let top = top.sub(top as usize % 16);
        libc::clone(child, top.cast(), libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, (&raw mut plan).cast())
    };
    if pid < 0 {
        return Err(super::errno());
    }
    if plan.error != 0 {
        // The child is gone already; collect it here so no reap mistakes it for a daemon.
        let mut status = 0;
        // SAFETY: valid out-pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(plan.error);
    }
    Ok(pid)
}

/// Runs in the child, on its own stack, in the parent's memory: system
/// calls only (no locks, no allocation). `errno` is the parent's too, but it
/// is read here only after a failed call and the parent then reads `error`.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Plan`, alive until we exec or exit.
    let plan = unsafe { &mut *arg.cast::<Plan>() };
    super::signals::reset_dispositions();
    // SAFETY: each call is a plain system call with valid arguments.
    unsafe {
        libc::syscall(libc::SYS_setsid);
        for (from, to) in [(plan.out, libc::STDOUT_FILENO), (plan.err, libc::STDERR_FILENO)] {
            let moved = match from {
                -1 => 0,
                // Already in place: only its close-on-exec flag must go.
                _ if from == to => libc::syscall(libc::SYS_fcntl, from, libc::F_SETFD, 0),
                _ => libc::syscall(libc::SYS_dup2, from, to),
            };
            if moved < 0 {
                plan.error = super::errno();
                libc::syscall(libc::SYS_exit, 127);
            }
        }
        super::signals::set_mask(0);
        libc::syscall(libc::SYS_execve, plan.path, plan.argv, plan.envp);
        plan.error = super::errno();
        libc::syscall(libc::SYS_exit, 127);
    }
    127
}

/// Finds `name` on the PATH entries: the first executable file wins;
/// failing that the first file found (its spawn then fails with EACCES).
fn resolve(name: &[u8], search_path: &[u8], out: &mut PathBuf) -> Result<(), i32> {
    let mut first_found: Option<&[u8]> = None;
    for dir in search_path.split(|&b| b == b':') {
        if !join(dir, name, out) || !exists(out) {
            continue;
        }
        // SAFETY: NUL-terminated path.
        if unsafe { libc::access(out.as_ptr().cast(), libc::X_OK) } == 0 {
            return Ok(());
        }
        first_found.get_or_insert(dir);
    }
    match first_found {
        Some(dir) if join(dir, name, out) => Ok(()),
        _ => Err(libc::ENOENT),
    }
}

/// `dir/name` with its NUL into `out`; false when it does not fit.
fn join(dir: &[u8], name: &[u8], out: &mut PathBuf) -> bool {
    // An empty entry means the current directory, as in POSIX.
    let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
    out.clear();
    out.extend_from_slice(dir).is_ok()
        && out.push(b'/').is_ok()
        && out.extend_from_slice(name).is_ok()
        && out.push(0).is_ok()
}

fn exists(path_with_nul: &[u8]) -> bool {
    // SAFETY: a NUL-terminated path.
    unsafe { libc::access(path_with_nul.as_ptr().cast(), libc::F_OK) == 0 }
}
