//! Byte search and copy at memchr/memcpy speed. The log pump moves every
//! byte a daemon writes; iterator loops (built for size, with inlining kept
//! low for every crate by `--inline-threshold=5` in .cargo/config.toml)
//! would go a byte at a time.

/// Where the first newline in `haystack` is.
pub fn find_newline(haystack: &[u8]) -> Option<usize> {
    find(haystack, b'\n')
}

/// Where the first `byte` in `haystack` is.
pub fn find(haystack: &[u8], byte: u8) -> Option<usize> {
    // SAFETY: memchr reads at most `haystack.len()` bytes of `haystack`.
    let at = unsafe { libc::memchr(haystack.as_ptr().cast(), i32::from(byte), haystack.len()) };
    (!at.is_null()).then(|| (at as usize).wrapping_sub(haystack.as_ptr() as usize))
}

/// Copies as much of `from` as fits into `to`; returns the bytes copied.
pub fn copy(to: &mut [u8], from: &[u8]) -> usize {
    let len = to.len().min(from.len());
    // Both `len` long: copy_from_slice's length check folds away, and the
    // copy is musl's memcpy.
    if let (Some(to), Some(from)) = (to.get_mut(..len), from.get(..len)) {
        to.copy_from_slice(from);
    }
    len
}

/// Moves `buf[start..end]` to the front of `buf`; returns its new end.
/// Out-of-range bounds move nothing.
pub fn move_to_front(buf: &mut [u8], start: usize, end: usize) -> usize {
    if start > end || end > buf.len() {
        return end;
    }
    let len = end.wrapping_sub(start);
    // SAFETY: `start..end` lies inside `buf` (checked above) and so does
    // `0..len`; `ptr::copy` allows the two to overlap.
    unsafe { core::ptr::copy(buf.as_ptr().add(start), buf.as_mut_ptr(), len) };
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_newline() {
        assert_eq!(find_newline(b"abc\ndef\n"), Some(3));
        assert_eq!(find_newline(b"\n"), Some(0));
        assert_eq!(find_newline(b"no newline"), None);
        assert_eq!(find_newline(b""), None);
    }

    #[test]
    fn moves_a_range_to_the_front() {
        let mut buf = *b"..abcd";
        assert_eq!(move_to_front(&mut buf, 2, 6), 4);
        assert_eq!(&buf[..4], b"abcd");
        assert_eq!(move_to_front(&mut buf, 3, 9), 9, "out of range: untouched");
        assert_eq!(&buf, b"abcdcd");
    }

    #[test]
    fn copies_what_fits() {
        let mut to = [0u8; 4];
        assert_eq!(copy(&mut to, b"abcdef"), 4);
        assert_eq!(&to, b"abcd");
        assert_eq!(copy(&mut to, b"xy"), 2);
        assert_eq!(&to, b"xycd");
    }
}
