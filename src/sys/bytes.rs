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

/// Bytes one step of [`prefix_lines`] reads and writes.
const WORD: usize = 8;
/// Room [`prefix_lines`] wants past a line's start: its prefix goes out as
/// one 16-byte store, then a word at a time.
pub const PREFIX_SLACK: usize = 16 + WORD;

/// A line's prefix, padded to the one 16-byte store that writes it.
pub struct Prefix {
    pub bytes: [u8; 16],
    /// At most 16.
    pub len: usize,
}

impl Prefix {
    /// `[name] `, for a name of at most 13 bytes.
    pub fn new(name: &[u8]) -> Prefix {
        let mut bytes = *b"[               ";
        let len = copy(bytes.get_mut(1..14).unwrap_or(&mut []), name);
        if let Some(close) = bytes.get_mut(len.wrapping_add(1)) {
            *close = b']';
        }
        Prefix { bytes, len: len.wrapping_add(3) }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

/// Copies the whole lines at the front of `from` into `to`, each after
/// `prefix`, in one pass that finds each newline a word at a time as it
/// copies it: no call per line, which for 100-byte lines was most of the
/// pump's time (musl's memcpy starts `rep movs` for each copy). Stops before
/// a line longer than `max`, one that ends within the last word of `from`,
/// and one that does not fit in `to` with [`PREFIX_SLACK`] to spare;
/// returns the bytes taken from `from` and written to `to`.
pub fn prefix_lines(to: &mut [u8], from: &[u8], prefix: &Prefix, max: usize) -> (usize, usize) {
    let (mut taken, mut made) = (0usize, 0usize);
    while made.wrapping_add(PREFIX_SLACK) <= to.len() {
        // SAFETY: 16 bytes from `made` lie in `to` (checked above).
        unsafe { to.as_mut_ptr().add(made).cast::<[u8; 16]>().write_unaligned(prefix.bytes) };
        let (mut at, mut out) = (taken, made.wrapping_add(prefix.len));
        loop {
            if at.wrapping_add(WORD) > from.len() || out.wrapping_add(WORD) > to.len() {
                return (taken, made);
            }
            // SAFETY: `at + WORD <= from.len()` (checked above).
            let word = unsafe { from.as_ptr().add(at).cast::<u64>().read_unaligned() };
            // SAFETY: `out + WORD <= to.len()` (checked above).
            unsafe { to.as_mut_ptr().add(out).cast::<u64>().write_unaligned(word) };
            // A byte of 0x80 in `hit` for each newline (exact up to the
            // first one, which is all this looks at).
            let x = u64::from_le(word) ^ 0x0a0a_0a0a_0a0a_0a0a;
            let hit = x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080;
            if hit != 0 {
                // Up to and with the newline.
                let step = (hit.trailing_zeros() / 8).wrapping_add(1) as usize;
                at = at.wrapping_add(step);
                out = out.wrapping_add(step);
                break;
            }
            // Its own adds of a constant, not a step shared with the
            // newline's path: at opt-level "z" a shared step was loaded
            // through the stack (`push 8; pop`) on every word, which cost
            // the relay half again its CPU per byte.
            at = at.wrapping_add(WORD);
            out = out.wrapping_add(WORD);
        }
        // The newline itself does not count against `max`.
        if at.wrapping_sub(taken) > max.wrapping_add(1) {
            return (taken, made);
        }
        (taken, made) = (at, out);
    }
    (taken, made)
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

    fn prefix(text: &[u8]) -> Prefix {
        let mut bytes = [0u8; 16];
        bytes[..text.len()].copy_from_slice(text);
        Prefix { bytes, len: text.len() }
    }

    #[test]
    fn prefixes_whole_lines_and_stops_where_it_must() {
        let mut to = vec![0u8; 64 * 1024];
        for text in [&b"a\nbb\n\nccccccccccccccc\ndddddddd\ntail"[..], b"0123456\n01234567\n012345678\nxx"] {
            let (taken, made) = prefix_lines(&mut to, text, &prefix(b"[egress] "), 4096);
            assert_eq!(text[taken - 1..].first(), Some(&b'\n'), "stops after a newline");
            let mut want = std::vec::Vec::new();
            for line in text[..taken].split_inclusive(|&b| b == b'\n') {
                want.extend_from_slice(b"[egress] ");
                want.extend_from_slice(line);
            }
            assert_eq!(&to[..made], &want[..]);
            // What is left holds no newline but in its last word.
            let rest = &text[taken..];
            assert!(find_newline(&rest[..rest.len().saturating_sub(WORD - 1)]).is_none());
        }
        assert_eq!(prefix_lines(&mut to, b"short", &prefix(b"[x] "), 4096), (0, 0));
    }

    #[test]
    fn leaves_overlong_lines_and_stops_when_full() {
        let mut to = vec![0u8; 64 * 1024];
        let mut text = vec![b'x'; 10];
        text.push(b'\n');
        text.extend(vec![b'y'; 20]);
        text.extend_from_slice(b"\nmore text\n");
        assert_eq!(prefix_lines(&mut to, &text, &prefix(b"[a] "), 10), (11, 15), "the 20-byte line is left");
        let mut exact = vec![b'z'; 16];
        exact.extend_from_slice(b"\n12345678\n");
        assert_eq!(prefix_lines(&mut to, &exact, &prefix(b""), 16).0, 17, "a line of exactly max is whole");
        let mut small = vec![0u8; 15 + PREFIX_SLACK];
        assert_eq!(prefix_lines(&mut small, &text, &prefix(b"[a] "), 4096), (11, 15), "no room for the second line");
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
