//! Buffers in fresh anonymous pages: zero-filled by the kernel and not
//! resident until written, so an idle init keeps a small RSS.

/// Maps `len` bytes of private anonymous memory for the init's lifetime.
pub fn pages(len: usize) -> Option<&'static mut [u8]> {
    // SAFETY: a new private anonymous mapping, never unmapped, so the slice
    // is valid, zero-initialised and exclusively ours for 'static.
    unsafe {
        let at = libc::syscall(
            libc::SYS_mmap,
            core::ptr::null_mut::<u8>(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if at < 0 {
            return None;
        }
        Some(core::slice::from_raw_parts_mut(at as *mut u8, len))
    }
}
