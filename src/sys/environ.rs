//! The init's arguments and environment, as the C runtime handed them to
//! `main`: NULL-terminated arrays of NUL-terminated strings that live,
//! unchanged, as long as the process (the init never calls setenv).

use core::ffi::{c_char, CStr};

/// A NULL-terminated array of C strings, as `main`'s `argv` and `envp`.
pub type Strings = *const *const c_char;

/// `main`'s `envp`.
#[derive(Clone, Copy)]
pub struct Environ {
    envp: Strings,
}

/// `main`'s `argv`.
#[derive(Clone, Copy)]
pub struct Args {
    argv: Strings,
}

impl Environ {
    /// # Safety
    /// `envp` must be the NULL-terminated array `main` received.
    pub unsafe fn new(envp: Strings) -> Environ {
        Environ { envp }
    }

    pub fn envp(&self) -> Strings {
        self.envp
    }

    /// The value of `name`, first occurrence wins (as `getenv`).
    pub fn get(&self, name: &str) -> Option<&'static [u8]> {
        self.entries().find_map(|entry| entry.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
    }

    /// Every `NAME=value` entry, in order.
    pub fn entries(&self) -> impl Iterator<Item = &'static [u8]> {
        walk(self.envp)
    }
}

impl Args {
    /// # Safety
    /// `argv` must be the NULL-terminated array `main` received.
    pub unsafe fn new(argv: Strings) -> Args {
        Args { argv }
    }

    /// The arguments after the program name.
    pub fn after_program(&self) -> impl Iterator<Item = &'static [u8]> {
        walk(self.argv).skip(1)
    }
}

/// The strings of a NULL-terminated array that lives as long as the process
/// (the constructors' contract).
fn walk(mut at: Strings) -> impl Iterator<Item = &'static [u8]> {
    core::iter::from_fn(move || {
        if at.is_null() {
            return None;
        }
        // SAFETY: `at` points into the NULL-terminated array, at or before its
        // NULL; when `entry` is not that NULL, the next element exists, and
        // `entry` is a NUL-terminated string living as long as the process.
        unsafe {
            let entry: *const c_char = *at;
            if entry.is_null() {
                return None;
            }
            at = at.add(1);
            Some(CStr::from_ptr(entry).to_bytes())
        }
    })
}
