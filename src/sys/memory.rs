//! Buffers in fresh anonymous pages: zero-filled by the kernel and not
//! resident until written, so an idle init keeps a small RSS.

use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};

/// Maps `len` bytes of private anonymous memory for the init's lifetime.
pub fn pages(len: usize) -> Option<&'static mut [u8]> {
    // SAFETY: a new private anonymous mapping at an address the kernel picks
    // overlaps nothing of ours; it is `len` bytes, zero-filled, never
    // unmapped, and this is the only reference to it: exclusively ours for 'static.
    unsafe {
        let at = mmap_anonymous(core::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE);
        Some(core::slice::from_raw_parts_mut(at.ok()?.cast::<u8>(), len))
    }
}
