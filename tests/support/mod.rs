//! Test support shared by every integration test file (each says `mod support;`):
//! the init under test ([`Setup`], [`Init`]), the stand-in daemon's reports
//! ([`Start`], flood lines), /proc, and waiting for conditions; for tests
//! against a Docker engine, containers ([`docker`]) and a small HTTP client
//! ([`http`]).
//!
//! A failed check panics. Only the sidecar-init binary is linked without
//! unwind tables (link/cc); test binaries unwind, so a failing test is
//! reported like any other and its guards still run: an [`Init`] that is
//! dropped while its test panics prints what the init wrote and how it
//! ended, then kills it, so checks need not repeat that in their messages.

#![allow(dead_code)] // each test file uses only some of the helpers

mod client;
mod init;
mod procfs;
mod standin;

// Re-exported whole for `use support::*`; a file that takes none of a
// module's items (docker.rs starts no init of its own) must still compile.
#[allow(unused_imports)]
pub use client::*;
#[allow(unused_imports)]
pub use init::*;
#[allow(unused_imports)]
pub use procfs::*;
#[allow(unused_imports)]
pub use standin::*;

// For tests against a Docker engine, used by path (`support::docker::…`).
pub mod demo;
pub mod docker;
pub mod http;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long any awaited condition may take before the test fails. Generous:
/// the suite runs on a noisy 2-core machine and on fresh CI machines.
pub const PATIENCE: Duration = Duration::from_secs(10);
pub const POLL_EVERY: Duration = Duration::from_millis(10);

/// The four slots, in start order.
pub const SLOTS: [&str; 4] = ["egress", "pipelock", "git-gate", "supervise"];

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGUSR2: i32 = 12;
pub const SIGTERM: i32 = 15;

// ---------------------------------------------------------------- waiting

/// Polls `probe` every `every` until it gives a value; panics, naming `what`,
/// once `patience` has run out.
pub fn wait_until<T>(patience: Duration, every: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("gave up after {patience:?} waiting for {what}");
        }
        thread::sleep(every);
    }
}

/// [`wait_until`] with the suite's patience, polling every few milliseconds.
pub fn wait_for<T>(what: &str, probe: impl FnMut() -> Option<T>) -> T {
    wait_until(PATIENCE, POLL_EVERY, what, probe)
}

// ---------------------------------------------------------------- binaries

fn binary(var: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        // The tests' own architecture: under qemu (ARCH=aarch64) they test the aarch64 init.
        let target = format!("target/{}-unknown-linux-musl/release", std::env::consts::ARCH);
        Path::new(env!("CARGO_MANIFEST_DIR")).join(target).join(name)
    });
    assert!(path.is_file(), "{} not found (${var}): run `make integration`", path.display());
    path
}

pub fn init_bin() -> PathBuf {
    binary("SIDECAR_INIT", "sidecar-init")
}

pub fn standin_bin() -> PathBuf {
    binary("STANDIN_BIN", "standin")
}

/// One word for the init's command-line parser (POSIX single quotes).
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `CLAUDE_BOTTLE_SIDECAR_CMD_<SLOT>` for a slot name.
pub fn command_var(slot: &str) -> String {
    format!("CLAUDE_BOTTLE_SIDECAR_CMD_{}", slot.to_uppercase().replace('-', "_"))
}

/// The last `max` bytes of `text`, on a char boundary, for failure messages.
pub fn tail(text: &str, max: usize) -> &str {
    let mut from = text.len().saturating_sub(max);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..]
}

// ---------------------------------------------------------------- scratch dirs

/// A fresh directory per test under the system temp dir, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sidecar-init-{test}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Scratch { path }
    }

    /// Names of the files in the directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let dir = std::fs::read_dir(&self.path).unwrap_or_else(|e| panic!("cannot list {}: {e}", self.path.display()));
        let mut names: Vec<String> =
            dir.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
