//! The init's environment, as the C runtime handed it to `main`.

use core::ffi::{c_char, CStr};

use crate::sys::spawn::Envp;

pub struct Environ {
    envp: Envp,
}

impl Environ {
    /// # Safety
    /// `envp` must be the NULL-terminated array `main` received; its strings
    /// live, unchanged, as long as the process (the init never calls setenv).
    pub unsafe fn new(envp: Envp) -> Environ {
        Environ { envp }
    }

    pub fn envp(&self) -> Envp {
        self.envp
    }

    /// The value of `name`, first occurrence wins (as `getenv`).
    pub fn get(&self, name: &str) -> Option<&'static [u8]> {
        self.entries().find_map(|entry| {
            let rest = entry.strip_prefix(name.as_bytes())?;
            rest.strip_prefix(b"=")
        })
    }

    fn entries(&self) -> impl Iterator<Item = &'static [u8]> {
        let mut at = self.envp;
        core::iter::from_fn(move || {
            if at.is_null() {
                return None;
            }
            // SAFETY: `at` walks the NULL-terminated array (see `new`).
            let entry: *const c_char = unsafe { *at };
            if entry.is_null() {
                return None;
            }
            // SAFETY: as above; each entry is a NUL-terminated string.
            at = unsafe { at.add(1) };
            Some(unsafe { CStr::from_ptr(entry) }.to_bytes())
        })
    }
}
