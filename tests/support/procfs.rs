//! What the tests learn from /proc, and signals to processes.

use std::process::Child;

/// Children of `pid` (all its threads), from /proc.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut kids = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.filter_map(|t| t.ok()) {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                kids.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    kids.sort_unstable();
    kids.dedup();
    kids
}

/// The state letter of a process (R, S, Z, ...), None once it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ..." where comm may hold anything: the state follows the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    after.trim_start().chars().next()
}

/// The parent of a process, from /proc/<pid>/stat.
pub fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/stat: {e}"));
    // "pid (comm) S ppid ...": fields after the last ')', as in proc_state.
    let after = &stat[stat.rfind(')').expect("a stat line has `(comm)`") + 1..];
    let ppid = after.split_whitespace().nth(1);
    ppid.and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no parent in /proc/{pid}/stat: {stat}"))
}

/// A field of /proc/<pid>/status, e.g. "SigIgn".
pub fn proc_status_field(pid: i32, key: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).map(|v| v.trim().to_string())
}

/// CPU time a process has used, in ns (`/proc/PID/schedstat`, first field).
pub fn cpu_ns(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .unwrap_or_else(|e| panic!("no schedstat for pid {pid}: {e}"));
    text.split_whitespace().next().and_then(|ns| ns.parse().ok()).unwrap_or_else(|| panic!("schedstat: {text:?}"))
}

/// A process's pid in its own (innermost) PID namespace: the last field
/// of `NSpid:` in /proc/PID/status (what a standin reports as `pid=`).
pub fn inner_pid(pid: i32) -> Option<i32> {
    proc_status_field(pid, "NSpid")?.split_whitespace().last()?.parse().ok()
}

/// The status flags of a process's descriptor (`flags:` of
/// /proc/PID/fdinfo/FD, octal); O_NONBLOCK is 0o4000.
pub fn fd_flags(pid: i32, fd: i32) -> u32 {
    let path = format!("/proc/{pid}/fdinfo/{fd}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let flags = text.lines().find_map(|l| l.strip_prefix("flags:")).map(str::trim);
    flags.and_then(|f| u32::from_str_radix(f, 8).ok()).unwrap_or_else(|| panic!("no flags: in {path}: {text:?}"))
}

/// Sets another process's RLIMIT_NOFILE (soft and hard), as
/// `prlimit --pid PID --nofile=N:N` does.
pub fn set_nofile(pid: i32, limit: u64) {
    let new = libc::rlimit { rlim_cur: limit, rlim_max: limit };
    // SAFETY: a valid rlimit; the old value is not wanted.
    if unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) } != 0 {
        panic!("prlimit({pid}, NOFILE, {limit}): {}", std::io::Error::last_os_error());
    }
}

/// Whether the process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// Sends `sig` to `pid`; panics if it cannot.
pub fn send(pid: i32, sig: i32) {
    // kill(0 or -1, ...) would reach the test runner itself.
    assert!(pid > 0, "refusing to send signal {sig} to pid {pid}");
    // SAFETY: kill takes plain integers.
    if unsafe { libc::kill(pid, sig) } != 0 {
        panic!("kill({pid}, {sig}): {}", std::io::Error::last_os_error());
    }
}

/// A process a test must not leave behind, killed when the test ends, passed
/// or failed.
pub enum KillOnDrop {
    /// One that may outlive the init under test (an orphan of an init that is
    /// not PID 1, which makes no sweep): SIGKILLed if it is still alive.
    Pid(i32),
    /// One the test started itself (`nsenter ...`): killed and reaped.
    Child(Child),
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        match self {
            KillOnDrop::Pid(pid) => {
                if *pid > 0 && alive(*pid) {
                    // SAFETY: kill takes plain integers.
                    unsafe { libc::kill(*pid, libc::SIGKILL) };
                }
            }
            KillOnDrop::Child(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
