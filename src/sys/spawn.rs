//! Starting a daemon without ever waiting for it: a fork-style clone (no
//! `CLONE_VM`, no `CLONE_VFORK`), so PID 1 goes on at once while the child
//! waits for a CPU, and with no allocation at all (musl's posix_spawn file
//! actions malloc). The child resets every signal disposition, becomes a
//! session leader, takes its log pipes as stdout and stderr, switches to its
//! slot's uid and gid (when one is configured), clears its signal mask and
//! execs. Its own copy of memory cannot carry an error back, so a failure
//! goes through a close-on-exec pipe, the report: EOF without a byte means
//! the exec succeeded, four bytes are the error. The parent never reads it
//! synchronously: the read end joins the one wait point (`shell`).

use core::ffi::{c_char, CStr};

use rustix::fs::{access, stat, Access, FileType};
use rustix::io::{fcntl_setfd, Errno, FdFlags};
use rustix::pipe::PipeFlags;
use rustix::stdio::{dup2_stderr, dup2_stdout};
use rustix::thread::{set_no_new_privs, set_thread_groups, set_thread_res_gid, set_thread_res_uid, Gid, Uid};

use super::bytes::{copy, find};
use super::fds::{self, same, Fd, Read, STDERR, STDOUT};
use super::raw;
use crate::logic::machine::Pid;
use crate::logic::privilege::User;
use crate::logic::words::{Command, MAX_WORDS};

/// Where a PATH lookup goes when PATH is unset.
pub const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";

use super::environ::Strings;

/// A path with its NUL: PATH_MAX.
type PathBuf = [u8; 4096];

/// Everything the child needs, prepared by the parent (the child has a copy).
struct Plan {
    path: *const c_char,
    argv: *const *const c_char,
    envp: Strings,
    /// The run's stdout and stderr; `None`: the init's own.
    stdio: Option<(Fd, Fd)>,
    /// Whom to run as; `None`: as the init.
    user: Option<User>,
    /// The report's write end; `None`: no pipe could be made.
    report: Option<Fd>,
}

/// A child on its way to exec.
pub struct Child {
    pub pid: Pid,
    /// The report's read end (non-blocking, close-on-exec), for
    /// [`outcome`]; `Err`: no pipe could be made (why), so the exec's
    /// outcome shows only as the child's exit (127).
    pub report: Result<Fd, Errno>,
}

/// What a report says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing yet: the child has neither exec'd nor failed.
    Pending,
    Execed,
    /// The errno, negated for the switch to the slot's user ([`spawn`]).
    Failed(i32),
}

/// Starts `command` with `stdio` (stdout, stderr) as its 1 and 2, or the
/// init's own when `None`, as `user` (or as the init when `None`); returns
/// as soon as the child exists. The error, here or later in the report, is
/// an errno (ENOENT when a bare name is on no PATH entry, EACCES when it is
/// on one but none can be executed), negated when it was the switch to
/// `user` that failed.
pub fn spawn(
    command: &Command,
    search_path: &[u8],
    envp: Strings,
    stdio: Option<(Fd, Fd)>,
    user: Option<User>,
) -> Result<Child, i32> {
    let mut resolved: PathBuf = [0; 4096];
    let path = if find(command.program(), b'/').is_some() {
        command.program_with_nul()
    } else {
        resolve(command.program(), search_path, &mut resolved)?;
        &resolved
    };
    let mut argv: [*const c_char; MAX_WORDS + 1] = [core::ptr::null(); MAX_WORDS + 1];
    let (words, starts) = command.packed();
    for (slot, &start) in argv.iter_mut().zip(starts) {
        // Each word runs from its start to its NUL.
        *slot = words.get(usize::from(start)..).unwrap_or(b"\0").as_ptr().cast();
    }
    // Non-blocking on both ends: four bytes into an empty pipe never block,
    // and the init's reads must not.
    let pipe = fds::pipe(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK);
    let writer = pipe.ok().map(|(_, writer)| writer);
    let plan = Plan { path: path.as_ptr().cast(), argv: argv.as_ptr(), envp, stdio, user, report: writer };
    // fork as a bare clone (rustix has fork only in its "runtime" feature):
    // no CLONE_VM, no new stack, so the child goes on from here in its own
    // copy of the init's memory, stack included, and nothing it does or the
    // parent does next can reach the other.
    // SAFETY: with these flags clone takes no pointer; the init has one thread.
    let pid = unsafe { raw::syscall2(libc::SYS_clone, libc::SIGCHLD as usize, 0) };
    if pid == 0 {
        child(&plan);
    }
    let pid = raw::result(pid);
    if let Ok((reader, writer)) = pipe {
        // Only the child may hold the write end: its exit or exec is the EOF.
        fds::close(writer);
        if pid.is_err() {
            fds::close(reader);
        }
    }
    Ok(Child { pid: i32::try_from(pid?).unwrap_or(0), report: pipe.map(|(reader, _)| reader) })
}

/// What the report `reader` says now. Once the child is reaped it is
/// definitive: the child was the write end's only holder.
pub fn outcome(reader: Fd) -> Outcome {
    let mut error = [0u8; 4];
    match fds::read(reader, &mut error) {
        Read::Empty => Outcome::Pending,
        Read::Data(_) => Outcome::Failed(i32::from_ne_bytes(error)),
        // A failed read cannot tell: taken as exec'd, so the run is
        // watched and its death still reported.
        Read::Closed | Read::Failed(_) => Outcome::Execed,
    }
}

/// Runs in the child, in its own copy of the parent's memory: system calls
/// only (no locks, no allocation), each an inline system call that leaves
/// no `errno` behind. A failure is written to the report, and the child
/// exits 127.
fn child(plan: &Plan) -> ! {
    super::signals::reset_dispositions();
    let _ = rustix::process::setsid();
    if let Err(error) = take_stdio(plan.stdio) {
        fail(plan.report, error.raw_os_error());
    }
    if let Some(user) = plan.user {
        if let Err(error) = become_user(user) {
            fail(plan.report, error.raw_os_error().wrapping_neg());
        }
    }
    super::signals::set_mask(0);
    // execve as a raw system call: rustix's needs its "runtime" feature,
    // which is documented as unstable and for language runtimes only.
    // SAFETY: path, argv and envp are NUL-terminated and NULL-terminated, in
    // the child's copy of the parent's frame.
    let ret = unsafe { raw::syscall3(libc::SYS_execve, plan.path as usize, plan.argv as usize, plan.envp as usize) };
    fail(plan.report, raw::result(ret).err().unwrap_or(libc::ENOEXEC))
}

/// Tells the parent why through the report, and exits.
fn fail(report: Option<Fd>, error: i32) -> ! {
    if let Some(report) = report {
        // Nothing is left to tell a failed write to: the child exits 127 anyway.
        let _ = fds::write_some(report, &error.to_ne_bytes());
    }
    // rustix exits a process only with its "runtime" feature.
    raw::exit(127)
}

/// The run's stdout and stderr in place of the init's.
fn take_stdio(stdio: Option<(Fd, Fd)>) -> Result<(), Errno> {
    let Some((out, err)) = stdio else { return Ok(()) };
    for (from, to) in [(out, STDOUT), (err, STDERR)] {
        if same(from, to) {
            // Already in place: only its close-on-exec flag must go.
            fcntl_setfd(from, FdFlags::empty())?;
        } else if same(to, STDOUT) {
            dup2_stdout(from)?;
        } else {
            dup2_stderr(from)?;
        }
    }
    Ok(())
}

/// Exactly `user`'s uid and gid (real, effective and saved), `[gid]` as
/// the only supplementary group, and no_new_privs, in the order that keeps
/// the privilege each step needs until it is done: groups and gid while
/// still root, the uid last but one. rustix's calls are the raw per-thread
/// system calls, not musl's setuid & co., which take locks and signal every
/// thread to follow suit (the child has one, and a copy of those locks).
fn become_user(user: User) -> Result<(), Errno> {
    // The configuration refuses 4294967295, the kernel's "unchanged".
    let (uid, gid) = (Uid::from_raw_unchecked(user.uid), Gid::from_raw_unchecked(user.gid));
    set_thread_groups(&[gid])?;
    set_thread_res_gid(gid, gid, gid)?;
    set_thread_res_uid(uid, uid, uid)?;
    set_no_new_privs(true)
}

/// Finds `name` on the PATH entries as execvp does: the first executable
/// regular file wins; failing that, a candidate that exists but cannot be
/// executed gives EACCES (code 126), and none at all ENOENT (127).
fn resolve(name: &[u8], search_path: &[u8], out: &mut PathBuf) -> Result<(), i32> {
    if name.is_empty() {
        return Err(Errno::NOENT.raw_os_error());
    }
    let mut found_unusable = false;
    for dir in search_path.split(|&b| b == b':') {
        let Some(path) = join(dir, name, out) else { continue };
        match stat(path) {
            Ok(info) if FileType::from_raw_mode(info.st_mode) == FileType::RegularFile => {
                if access(path, Access::EXEC_OK).is_ok() {
                    return Ok(());
                }
                found_unusable = true;
            }
            Ok(_) => found_unusable = true,
            Err(_) => {}
        }
    }
    Err(if found_unusable { Errno::ACCESS } else { Errno::NOENT }.raw_os_error())
}

/// `dir/name` with its NUL into `out`; `None` when it does not fit.
fn join<'a>(dir: &[u8], name: &[u8], out: &'a mut PathBuf) -> Option<&'a CStr> {
    // An empty entry means the current directory, as in POSIX.
    let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
    let path = out.get_mut(..dir.len().saturating_add(name.len()).saturating_add(2))?;
    let slash = copy(path, dir);
    *path.get_mut(slash)? = b'/';
    copy(path.get_mut(slash.saturating_add(1)..)?, name);
    let (nul, text) = path.split_last_mut()?;
    *nul = 0;
    if find(text, 0).is_some() {
        return None;
    }
    // SAFETY: `path` ends with the NUL written above and holds no other.
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(path) })
}
