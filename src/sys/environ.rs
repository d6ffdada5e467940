//! The init's arguments and environment, as the C runtime handed them to
//! `main`: NULL-terminated arrays of NUL-terminated strings that live,
//! unchanged, as long as the process (the init never calls setenv).

use core::ffi::{c_char, CStr};
use core::mem::size_of;

use super::memory::pages;
use crate::logic::config::{Variable, VAR_PREFIX};
use crate::logic::privilege;
use crate::logic::slot::Slot;

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
        self.lookup(&[name, "", "", "="])
    }

    /// The value of a configuration variable, its name (after
    /// [`VAR_PREFIX`], in two pieces) made here: its callers pass two
    /// bytes, not the name's four words. First occurrence wins.
    #[inline(never)]
    pub fn var(&self, variable: Variable) -> Option<&'static [u8]> {
        let [kind, rest] = variable.short_name();
        self.lookup(&[VAR_PREFIX, kind, rest, "="])
    }

    /// What follows `parts` (a name in pieces, then `=`) in the first entry
    /// that begins with them: one copy for every lookup (inlined, each cost
    /// bytes). Not `strip_prefix`: its `split_at` stays a function of its
    /// own on aarch64, whose panic path the optimiser cannot remove.
    #[inline(never)]
    fn lookup(&self, parts: &[&str; 4]) -> Option<&'static [u8]> {
        self.entries().find_map(|entry| {
            let mut rest = entry;
            for part in parts {
                let (head, after) = rest.split_at_checked(part.len())?;
                if head != part.as_bytes() {
                    return None;
                }
                rest = after;
            }
            Some(rest)
        })
    }

    /// Every `NAME=value` entry, in order.
    pub fn entries(&self) -> impl Iterator<Item = &'static [u8]> {
        walk(self.envp)
    }
}

/// Each slot's `envp`, in slot order (SPEC: private variables): when some
/// slot has a PRIVATE list, a NULL-terminated array of pointers to the
/// init's own entries that [`privilege::keeps`] lets through, in order;
/// otherwise the init's own `envp`. The strings are not copied. The arrays
/// are made once, at start-up, in one anonymous mapping with room for every
/// entry in every slot, so no environment is too large for them; `None`
/// when that mapping fails.
#[inline(never)]
pub fn per_slot(environ: Environ) -> Option<[Strings; 4]> {
    let mut envp = [environ.envp; 4];
    let mut lists: [&[u8]; 4] = [b""; 4];
    let mut any_private = false;
    for (list, &slot) in lists.iter_mut().zip(&Slot::ALL) {
        *list = environ.var(Variable::Private(slot)).unwrap_or_default();
        any_private |= !list.is_empty();
    }
    if !any_private {
        return Some(envp);
    }
    // Room for every entry and the NULL, per slot. One overflow check, on
    // the bytes: the count of pointers, smaller, fits when they do.
    const ENTRY_BYTES: usize = Slot::ALL.len() * size_of::<Strings>();
    let stride = environ.entries().count().checked_add(1)?;
    let bytes = stride.checked_mul(ENTRY_BYTES)?;
    let len = stride.wrapping_mul(Slot::ALL.len());
    let memory = pages(bytes)?;
    // SAFETY: the mapping is page-aligned (aligned for pointers), zero-filled
    // (every element a null pointer), room for `len` pointers, and reached
    // only through this slice from here on, for the init's lifetime.
    let table: &'static mut [*const c_char] =
        unsafe { core::slice::from_raw_parts_mut(memory.as_mut_ptr().cast(), len) };
    let mut free = table.iter_mut();
    for (index, array) in envp.iter_mut().enumerate() {
        *array = free.as_slice().as_ptr();
        for entry in environ.entries() {
            if !privilege::keeps(index, entry, &lists) {
                continue;
            }
            if let Some(pointer) = free.next() {
                *pointer = entry.as_ptr().cast();
            }
        }
        // The NULL that ends the array: at most `stride - 1` entries came before it.
        free.next();
    }
    Some(envp)
}

impl Args {
    /// # Safety
    /// `argv` must be the NULL-terminated array `main` received.
    pub unsafe fn new(argv: Strings) -> Args {
        Args { argv }
    }

    /// The arguments after the program name.
    pub fn after_program(&self) -> impl Iterator<Item = &'static [u8]> {
        let mut args = walk(self.argv);
        args.next();
        args
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
